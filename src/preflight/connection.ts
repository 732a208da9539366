/**
 * Checks 2 and 3a: can we reach vCenter, does its certificate verify, does
 * the configured user log in. They are told apart because their fixes
 * differ: a refused connection or a DNS failure is the address or a
 * firewall; a TLS failure is ca-file/thumbprint; InvalidLogin is the Secret.
 */
import type { AboutInfo, VsphereClient } from '../vsphere/api.js';
import { isFault, VsphereConnectionError, VsphereFault, VsphereTimeoutError } from '../vsphere/faults.js';
import type { VCenterConfig } from '../config/types.js';
import { fail, pass, skip, warn, whatFailed, type CheckResult } from './types.js';

export interface ConnectionChecks {
  reachable: CheckResult;
  tls: CheckResult;
  login: CheckResult;
  /** Set when the vCenter answered RetrieveServiceContent. */
  about?: AboutInfo;
  loggedIn: boolean;
}

/** The socket error code under a VsphereConnectionError (ECONNREFUSED, ENOTFOUND, ...). */
function socketCode(err: unknown): string | undefined {
  // Duck-typed, not instanceof Error: socket errors may come from another realm (a test VM context).
  for (let cur: unknown = err, depth = 0; typeof cur === 'object' && cur !== null && depth < 8; cur = (cur as { cause?: unknown }).cause, depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

const address = (vc: VCenterConfig): string => `${vc.host}:${vc.port}`;

function tlsMode(vc: VCenterConfig): string {
  if (vc.thumbprint) return 'pinned to the configured thumbprint';
  if (vc.caFile) return `verified against ca-file ${vc.caFile}`;
  return "verified against the system's CA store";
}

const TLS_FIX =
  'set thumbprint to the SHA-1 fingerprint vCenter presents (openssl s_client -connect <host>:<port> </dev/null | openssl x509 -noout -fingerprint -sha1), ' +
  'or ca-file to the vCenter CA bundle (https://<vcenter>/certs/download.zip); insecure-flag = "true" skips verification (not recommended)';

function unreachable(vc: VCenterConfig, err: unknown, timeoutMs: number): CheckResult {
  const name = 'vcenter-reachable';
  if (err instanceof VsphereTimeoutError) {
    return fail(name, `${address(vc)} did not answer within ${Math.round(timeoutMs / 1000)} s`, 'check that the address is the vCenter Server and that no firewall drops traffic from the cluster to it on that port');
  }
  if (err instanceof VsphereFault) {
    return fail(name, `${address(vc)} answered, but not as a vCenter SOAP endpoint (${err.faultType})`, 'point the [VirtualCenter] section at the vCenter Server itself (not an ESXi host, a load balancer page or a proxy)');
  }
  const code = socketCode(err);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return fail(name, `DNS: the host name ${vc.host} does not resolve (${code})`, 'correct the host in [VirtualCenter "<host>"] or make it resolvable from the cluster (DNS, /etc/hosts)');
  }
  if (code === 'ECONNREFUSED') {
    return fail(name, `connection refused by ${address(vc)}: nothing listens there`, 'check the vCenter host and port (default 443) in the config, and that vCenter is running');
  }
  return fail(name, `cannot connect to ${address(vc)} (${code ?? (err instanceof Error ? err.message : String(err))})`, 'check the host, the port and the network path (routes, firewalls, proxies) from the cluster to vCenter');
}

export async function checkConnection(client: VsphereClient, vc: VCenterConfig, timeoutMs: number): Promise<ConnectionChecks> {
  let about: AboutInfo;
  try {
    about = await client.session.about({ signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    if (err instanceof VsphereConnectionError && err.details.tls) {
      return {
        // A TLS verdict means a TCP connection was made and a handshake happened.
        reachable: pass('vcenter-reachable', `${address(vc)} accepts connections`),
        tls: fail('vcenter-tls', `certificate not trusted (${tlsMode(vc)}): ${err.message}`, TLS_FIX),
        login: skip('vcenter-login', 'skipped: no verified TLS connection'),
        loggedIn: false,
      };
    }
    return {
      reachable: unreachable(vc, err, timeoutMs),
      tls: skip('vcenter-tls', 'skipped: vCenter not reachable'),
      login: skip('vcenter-login', 'skipped: vCenter not reachable'),
      loggedIn: false,
    };
  }
  const reachable = pass('vcenter-reachable', `${address(vc)} answered: ${about.fullName || about.apiType} (API ${about.apiVersion})`);
  const tls = vc.insecure
    ? warn('vcenter-tls', 'insecure-flag = "true": the certificate is not verified and the connection can be intercepted', 'remove insecure-flag and set thumbprint or ca-file')
    : pass('vcenter-tls', `certificate ${tlsMode(vc)}`);
  try {
    await client.session.ensure({ signal: AbortSignal.timeout(timeoutMs) });
    return { reachable, tls, login: pass('vcenter-login', `logged in as ${vc.user}`), about, loggedIn: true };
  } catch (err) {
    const qualified = /@|\\/.test(vc.user);
    if (isFault(err, 'InvalidLogin')) {
      return {
        reachable,
        tls,
        login: fail(
          'vcenter-login',
          `vCenter rejected user "${vc.user}" (InvalidLogin)${qualified ? '' : '; the user name has no domain'}`,
          'set the user and password of this vCenter in csi-vsphere.conf inside the vsphere-config-secret Secret; the user must be domain-qualified (user@vsphere.local or DOMAIN\\user)',
        ),
        about,
        loggedIn: false,
      };
    }
    const what = whatFailed(err);
    return { reachable, tls, login: fail('vcenter-login', `login as "${vc.user}" failed: ${what}`, 'check that the account is enabled and not locked, and that vCenter answers (see vcenter-reachable)'), about, loggedIn: false };
  }
}
