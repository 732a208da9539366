/**
 * Starts and stops the vCenter simulator as a child process on a free
 * loopback port. Everything a test needs to reach it is in the returned
 * handle; stop() kills it by PID and waits for the exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Agent, fetch as undiciFetch } from 'undici';
import { buildVcsim } from './vcsim-build.js';
import type { VsphereClient, VsphereClientOptions } from '../vsphere/api.js';
import { createVsphereClient, type InternalClientOptions } from '../vsphere/client.js';

export interface VcsimOptions {
  username?: string;
  password?: string;
  /** PEM files for the server certificate; default: the simulator's built-in cert. */
  tlsCert?: string;
  tlsKey?: string;
  /** Fixed listen address (host:port); default 127.0.0.1 with a free port. */
  listen?: string;
  datacenters?: number;
  clusters?: number;
  hostsPerCluster?: number;
  standaloneHosts?: number;
  vmsPerPool?: number;
  datastores?: number;
  /** Record request bodies, readable through bodies(). */
  record?: boolean;
  /** Advertised vCenter version (about.version), default 8.0.3. */
  version?: string;
  /** How long a CNS task stays queued / running (defaults 2 ms / 3 ms: asynchronous, as on vCenter). */
  cnsQueueDelayMs?: number;
  cnsRunTimeMs?: number;
  /** How much longer than other CNS tasks a CnsRelocateVolume runs (the copy; default 0). */
  cnsRelocateTimeMs?: number;
  /** How often a waiting WaitForUpdatesEx looks for changes (default 2 ms; govmomi 0.24.2 used 250 ms). */
  updateIntervalMs?: number;
  startTimeoutMs?: number;
}

export interface RequestCounts {
  total: number;
  /** Keys: "<path> <SOAP method>" for SOAP, "<HTTP method> <path>" for REST. */
  byMethod: Record<string, number>;
  /** Response bytes, by the same keys. */
  bytesByMethod: Record<string, number>;
}

export interface Vcsim {
  /** https://127.0.0.1:port/sdk */
  url: string;
  /** 127.0.0.1:port */
  host: string;
  hostname: string;
  port: number;
  username: string;
  password: string;
  pid: number;
  process: ChildProcess;
  requests(): Promise<RequestCounts>;
  resetRequests(): Promise<void>;
  bodies(): Promise<string[]>;
  /** Fault injection: every non-debug request hangs until set back to false. */
  setHang(on: boolean): Promise<void>;
  /** CNS task timing from now on. */
  setCnsTiming(queueMs: number, runMs: number): Promise<void>;
  /** The next `count` tasks of a CNS method fail with this vSphere fault (as vCenter refusing a request). */
  failNextCns(method: string, fault: string, options?: { property?: string; count?: number }): Promise<void>;
  /** How many CNS volumes exist and how many are attached. */
  cnsCounts(): Promise<{ volumes: number; attached: number }>;
  /** How many CNS snapshots one volume has (all volumes' when omitted); rejects for a volume CNS does not have. */
  snapshotCount(volumeId?: string): Promise<number>;
  /** Storage policy `profileId` now matches only these datastores (moref values), as a tag-based rule would; undefined: all again. */
  setPolicyDatastores(profileId: string, datastores: string[] | undefined): Promise<void>;
  /** A datastore's summary.freeSpace and/or summary.maintenanceMode ('normal', 'enteringMaintenance', 'inMaintenance'). */
  setDatastoreState(name: string, state: { freeSpace?: bigint; maintenanceMode?: string }): Promise<void>;
  /** How much longer than other CNS tasks a relocation takes from now on. */
  setRelocateTime(ms: number): Promise<void>;
  /** Sets a volume's CNS healthStatus, as vCenter does on its own when storage fails or recovers (cns_health.go). */
  setCnsHealth(volumeId: string, status: 'green' | 'yellow' | 'red' | 'unknown'): Promise<void>;
  stop(): Promise<void>;
}

export const DEFAULT_VCSIM_USER = 'administrator@vsphere.local';
export const DEFAULT_VCSIM_PASSWORD = 'vcsim-Pa55!';

const debugAgent = new Agent({ connect: { rejectUnauthorized: false } });

export async function startVcsim(options: VcsimOptions = {}): Promise<Vcsim> {
  const binary = await buildVcsim();
  const username = options.username ?? DEFAULT_VCSIM_USER;
  const password = options.password ?? DEFAULT_VCSIM_PASSWORD;
  const args = [
    '-listen', options.listen ?? '127.0.0.1:0',
    '-username', username,
    '-password', password,
    '-dc', String(options.datacenters ?? 1),
    '-cluster', String(options.clusters ?? 1),
    '-host', String(options.hostsPerCluster ?? 3),
    '-standalone-host', String(options.standaloneHosts ?? 1),
    '-vm', String(options.vmsPerPool ?? 2),
    '-ds', String(options.datastores ?? 1),
  ];
  if (options.tlsCert && options.tlsKey) args.push('-tls-cert', options.tlsCert, '-tls-key', options.tlsKey);
  if (options.record) args.push('-record');
  if (options.version) args.push('-version', options.version);
  if (options.cnsQueueDelayMs !== undefined) args.push('-cns-queue-delay', `${options.cnsQueueDelayMs}ms`);
  if (options.cnsRunTimeMs !== undefined) args.push('-cns-run-time', `${options.cnsRunTimeMs}ms`);
  if (options.cnsRelocateTimeMs !== undefined) args.push('-cns-relocate-time', `${options.cnsRelocateTimeMs}ms`);
  if (options.updateIntervalMs !== undefined) args.push('-update-interval', `${options.updateIntervalMs}ms`);

  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });

  const ready = await new Promise<{ url: string; host: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`vcsim did not start within ${options.startTimeoutMs ?? 30000} ms: ${stderr}`));
    }, options.startTimeoutMs ?? 30000);
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line) as { url: string; host: string });
      } catch {
        reject(new Error(`vcsim printed an unexpected first line: ${line}`));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`vcsim exited before it was ready (code ${code}, signal ${signal}): ${stderr}`));
    });
  });

  const [hostname, portText] = ready.host.split(':');
  const base = `https://${ready.host}`;
  const debug = async (p: string, method = 'GET'): Promise<unknown> => {
    const res = await undiciFetch(`${base}${p}`, { method, dispatcher: debugAgent });
    if (res.status === 204) return undefined;
    if (res.status !== 200) throw new Error(`vcsim ${method} ${p}: HTTP ${res.status}: ${await res.text()}`);
    return res.json();
  };
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

  return {
    url: ready.url,
    host: ready.host,
    hostname: hostname!,
    port: Number(portText),
    username,
    password,
    pid: child.pid!,
    process: child,
    requests: async () => (await debug('/debug/requests')) as RequestCounts,
    resetRequests: async () => void (await debug('/debug/requests/reset', 'POST')),
    bodies: async () => (await debug('/debug/bodies')) as string[],
    setHang: async (on: boolean) => void (await debug(`/debug/hang?on=${on ? 1 : 0}`, 'POST')),
    setCnsTiming: async (queueMs: number, runMs: number) => void (await debug(`/debug/cns/timing?queue=${queueMs}ms&run=${runMs}ms`, 'POST')),
    failNextCns: async (method, fault, o = {}) => {
      const q = new URLSearchParams({ method, fault, count: String(o.count ?? 1), ...(o.property ? { property: o.property } : {}) });
      await debug(`/debug/cns/fail?${q.toString()}`, 'POST');
    },
    cnsCounts: async () => (await debug('/debug/cns/volumes')) as { volumes: number; attached: number },
    snapshotCount: async (volumeId) =>
      ((await debug(`/debug/cns/snapshots${volumeId ? `?${new URLSearchParams({ volume: volumeId }).toString()}` : ''}`)) as { snapshots: number }).snapshots,
    setPolicyDatastores: async (profileId, datastores) => {
      const q = new URLSearchParams({ profile: profileId, ...(datastores ? { datastores: datastores.join(',') } : {}) });
      await debug(`/debug/storage/compatible?${q.toString()}`, 'POST');
    },
    setDatastoreState: async (name, state) => {
      const q = new URLSearchParams({ name });
      if (state.freeSpace !== undefined) q.set('freeSpace', String(state.freeSpace));
      if (state.maintenanceMode !== undefined) q.set('maintenance', state.maintenanceMode);
      await debug(`/debug/storage/datastore?${q.toString()}`, 'POST');
    },
    setRelocateTime: async (ms) => void (await debug(`/debug/storage/relocate-time?d=${ms}ms`, 'POST')),
    setCnsHealth: async (volumeId, status) => void (await debug(`/debug/cns/health?${new URLSearchParams({ volume: volumeId, status }).toString()}`, 'POST')),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** A client of the simulator for test set-up and inspection: its built-in certificate is not verified, no keep-alive timer. */
export function vcsimClient(sim: Vcsim, extra: Partial<VsphereClientOptions> & InternalClientOptions = {}): VsphereClient {
  return createVsphereClient({ host: sim.hostname, port: sim.port, user: sim.username, password: sim.password, insecure: true, keepAliveMs: 0, ...extra });
}
