/**
 * TLS policy for vCenter connections, as an undici Agent:
 * - default: verify chain and host name against the system CAs;
 * - caFile: verify against that PEM bundle instead;
 * - thumbprint: pin the leaf certificate's SHA-1 or SHA-256 fingerprint
 *   (the chain is not checked: a pinned self-signed vCenter cert is the use case);
 * - insecure: no verification at all, logged once as a warning.
 */
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { Agent, buildConnector } from 'undici';
import type { Logger } from 'pino';
import { VsphereConnectionError } from './faults.js';

export interface TlsPolicy {
  insecure?: boolean;
  caFile?: string;
  thumbprint?: string;
}

/** "AB:CD:..." / "abcd..." → lowercase hex; throws on a value that is neither SHA-1 nor SHA-256. */
export function normalizeThumbprint(thumbprint: string): string {
  const hex = thumbprint.replace(/[:\s-]/g, '').toLowerCase();
  if (!/^[0-9a-f]+$/.test(hex) || (hex.length !== 40 && hex.length !== 64)) {
    throw new VsphereConnectionError(
      'thumbprint must be the SHA-1 (40 hex digits) or SHA-256 (64 hex digits) fingerprint of the vCenter certificate, colons optional',
      { tls: true },
    );
  }
  return hex;
}

const warnedInsecure = new Set<string>();

/** Keep-alive sockets per vCenter at most (requests beyond wait in undici's queue). */
export const MAX_CONNECTIONS = 32;

export function createAgent(host: string, policy: TlsPolicy, logger: Logger): Agent {
  // At most MAX_CONNECTIONS sockets to one vCenter; more requests at once queue for a free one
  // (each TLS socket holds its own buffers: a 300-task storm must not open 300).
  const common = { keepAliveTimeout: 30_000, keepAliveMaxTimeout: 120_000, connections: MAX_CONNECTIONS };
  if (policy.thumbprint) {
    const pinned = normalizeThumbprint(policy.thumbprint);
    const base = buildConnector({ rejectUnauthorized: false, maxCachedSessions: 0 });
    return new Agent({
      ...common,
      connect: (options, callback) => {
        base(options, (err, socket) => {
          if (err || !socket) {
            callback(err ?? new Error('TLS connect failed'), null);
            return;
          }
          const cert = (socket as TLSSocket).getPeerCertificate?.();
          const seen = pinned.length === 40 ? cert?.fingerprint : cert?.fingerprint256;
          const actual = seen?.replace(/:/g, '').toLowerCase();
          if (actual !== pinned) {
            socket.destroy();
            callback(
              new VsphereConnectionError(
                `the certificate of vCenter ${host} does not match the configured thumbprint (server presents ${seen ?? 'no certificate'}): update "thumbprint" or check for interception`,
                { tls: true },
              ),
              null,
            );
            return;
          }
          callback(null, socket);
        });
      },
    });
  }
  if (policy.insecure) {
    if (!warnedInsecure.has(host)) {
      warnedInsecure.add(host);
      logger.warn({ vcenter: host }, 'TLS verification of vCenter is disabled (insecure-flag = true): the connection can be intercepted');
    }
    return new Agent({ ...common, connect: { rejectUnauthorized: false } });
  }
  if (policy.caFile) {
    let ca: string;
    try {
      ca = readFileSync(policy.caFile, 'utf8');
    } catch (err) {
      throw new VsphereConnectionError(`cannot read ca-file ${policy.caFile}: ${(err as Error).message}`, { tls: true, cause: err });
    }
    return new Agent({ ...common, connect: { ca, rejectUnauthorized: true } });
  }
  return new Agent({ ...common, connect: { rejectUnauthorized: true } });
}
