/**
 * Typed readers for raw config values. Each takes a Setting (value plus
 * where it came from) and throws a ConfigError naming that place. None of
 * them is ever called with a password: messages quote the value.
 */
import { isIP } from 'node:net';
import { ConfigError, type Setting } from './errors.js';
import type { IpFamily } from './types.js';

const MAX_QUOTED = 80;

/** Apply a typed reader when the setting exists and is not blank; blank means "unset". */
export function ifSet<T>(source: string, s: Setting | undefined, read: (source: string, s: Setting) => T): T | undefined {
  return s && s.value.trim() !== '' ? read(source, s) : undefined;
}

/** The value as shown in messages: quoted, cut short so a pasted blob stays readable. */
export function quote(value: string): string {
  return value.length > MAX_QUOTED ? `'${value.slice(0, MAX_QUOTED)}...'` : `'${value}'`;
}

// gcfg (the reference's INI library) accepts yes/on/1 and no/off/0; Go's
// strconv.ParseBool (its env parsing) accepts t/f: take the union.
const TRUE_WORDS = new Set(['true', 'yes', 'on', '1', 't']);
const FALSE_WORDS = new Set(['false', 'no', 'off', '0', 'f']);

export function parseBool(source: string, s: Setting): boolean {
  const v = s.value.trim().toLowerCase();
  if (TRUE_WORDS.has(v)) return true;
  if (FALSE_WORDS.has(v)) return false;
  throw new ConfigError(source, s.where, `${quote(s.value)} is not a boolean: use true or false`);
}

export function parsePort(source: string, s: Setting): number {
  const v = s.value.trim();
  if (!/^\d+$/.test(v)) throw new ConfigError(source, s.where, `${quote(s.value)} is not a number`);
  const port = Number(v);
  if (port < 1 || port > 65535) {
    throw new ConfigError(source, s.where, `${quote(s.value)} is out of range: use a port between 1 and 65535`);
  }
  return port;
}

/** A non-negative integer (intervals, limits, counts). */
export function parseCount(source: string, s: Setting): number {
  const v = s.value.trim();
  if (!/^\d+$/.test(v)) throw new ConfigError(source, s.where, `${quote(s.value)} is not a number`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new ConfigError(source, s.where, `${quote(s.value)} is too large`);
  return n;
}

/** Comma-separated list; blanks dropped (`"dc1, dc2,"` → [dc1, dc2]). */
export function parseList(value: string): string[] {
  return value
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}

const SHA1_FINGERPRINT = /^[0-9a-f]{2}(:[0-9a-f]{2}){19}$/i;
const SHA256_FINGERPRINT = /^[0-9a-f]{2}(:[0-9a-f]{2}){31}$/i;

/** SHA-1 or SHA-256 certificate fingerprint as colon-separated hex; returned upper-case. */
export function parseThumbprint(source: string, s: Setting): string {
  const v = s.value.trim();
  if (SHA1_FINGERPRINT.test(v) || SHA256_FINGERPRINT.test(v)) return v.toUpperCase();
  throw new ConfigError(
    source,
    s.where,
    `${quote(s.value)} is not a certificate fingerprint: use the SHA-1 (20 bytes) or SHA-256 (32 bytes) ` +
      `fingerprint as colon-separated hex, as printed by 'openssl x509 -noout -fingerprint -sha256'`,
  );
}

// The reference driver's rule (pkg/common/config isValidvCenterUsernameWithDomain):
// user@domain or DOMAIN\user, with these character sets.
const USER_AT_DOMAIN = /^[a-zA-Z0-9._-]+@[a-zA-Z0-9.-]+$/;
const DOMAIN_BACKSLASH_USER = /^[a-zA-Z0-9.-]+\\[a-zA-Z0-9._-]+$/;

export function isDomainQualifiedUser(user: string): boolean {
  return USER_AT_DOMAIN.test(user) || DOMAIN_BACKSLASH_USER.test(user);
}

/** Throws unless the user is `user@domain` or `DOMAIN\user` (a user name is not a secret). */
export function checkDomainQualifiedUser(source: string, s: Setting): string {
  const user = s.value.trim();
  if (isDomainQualifiedUser(user)) return user;
  throw new ConfigError(
    source,
    s.where,
    `${quote(user)} is not domain-qualified: use user@domain (e.g. administrator@vsphere.local) or DOMAIN\\user`,
  );
}

/** One CIDR (`10.0.0.0/8`, `fd00::/64`); returns it trimmed. */
function checkCidr(source: string, where: string, cidr: string): string {
  const slash = cidr.indexOf('/');
  const addr = slash < 0 ? cidr : cidr.slice(0, slash);
  const prefix = slash < 0 ? '' : cidr.slice(slash + 1);
  const family = isIP(addr);
  const max = family === 4 ? 32 : 128;
  if (family === 0 || !/^\d{1,3}$/.test(prefix) || Number(prefix) > max) {
    throw new ConfigError(source, where, `${quote(cidr)} is not a CIDR: use address/prefix, e.g. 10.0.0.0/24 or fd00::/64`);
  }
  return cidr;
}

/** Comma-separated CIDR list, each validated. */
export function parseCidrList(source: string, s: Setting): string[] {
  return parseList(s.value).map((c) => checkCidr(source, s.where, c));
}

/** `ipv4`, `ipv6`, or both in priority order; at most one of each. */
export function parseIpFamilies(source: string, where: string, items: string[]): IpFamily[] {
  const out: IpFamily[] = [];
  for (const raw of items) {
    const v = raw.trim().toLowerCase();
    if (v !== 'ipv4' && v !== 'ipv6') {
      throw new ConfigError(source, where, `${quote(raw)} is not an IP family: use ipv4, ipv6, or both in priority order`);
    }
    if (out.includes(v)) throw new ConfigError(source, where, `${quote(raw)} is listed twice`);
    out.push(v);
  }
  return out;
}
