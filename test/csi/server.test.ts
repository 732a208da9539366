/**
 * The CSI server in-process, driven by a real grpc-js client over a real
 * unix socket: Identity, UNIMPLEMENTED, socket housekeeping, graceful
 * shutdown, cancellation, error mapping on the wire, logging and metrics.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile, readFile } from 'node:fs/promises';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ServiceError } from '@grpc/grpc-js';
import { createLogger, silentLogger } from '../../src/log.js';
import { createCsiClient } from '../../src/csi/client.js';
import { createIdentityService } from '../../src/csi/identity.js';
import { createCsiMetrics, startMetricsServer } from '../../src/csi/metrics.js';
import { parseEndpoint, startCsiServer } from '../../src/csi/server.js';
import type { CallContext, ServiceImpl } from '../../src/csi/handler.js';
import { GrpcCode, invalidArgument } from '../../src/csi/errors.js';
import { VsphereConnectionError, VsphereFault } from '../../src/vsphere/faults.js';

const run = promisify(execFile);
let dir: string;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'csi-server-'));
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;
const socketPath = (): string => join(dir, `s${++counter}`, 'csi.sock');

/** A gate a test opens when it wants a handler to finish. */
function gate(): { wait: Promise<void>; open: () => void; entered: Promise<void>; enter: () => void } {
  let open!: () => void;
  let enter!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  const entered = new Promise<void>((r) => (enter = r));
  return { wait, open, entered, enter };
}

async function start(services: Partial<Record<'Controller' | 'Node', ServiceImpl>> = {}, extra: { shutdownGraceMs?: number; logger?: ReturnType<typeof createLogger> } = {}) {
  const path = socketPath();
  const metrics = createCsiMetrics();
  const server = await startCsiServer({
    endpoint: `unix://${path}`,
    logger: extra.logger ?? silentLogger,
    services: { Identity: createIdentityService({ topology: true, probe: async () => true, version: '9.9.9' }), ...services },
    shutdownGraceMs: extra.shutdownGraceMs,
    metrics,
  });
  const client = createCsiClient(`unix://${path}`);
  cleanups.push(async () => {
    client.close();
    await server.close();
  });
  return { server, client, path, metrics };
}

async function codeOf(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as ServiceError;
    return { code: e.code, details: e.details };
  }
  throw new Error('expected the call to fail');
}

describe('parseEndpoint', () => {
  test('accepts the three unix forms', () => {
    expect(parseEndpoint('unix:///csi/csi.sock')).toBe('/csi/csi.sock');
    expect(parseEndpoint('unix:/csi/csi.sock')).toBe('/csi/csi.sock');
    expect(parseEndpoint('/csi/csi.sock')).toBe('/csi/csi.sock');
  });
  test.each(['tcp://127.0.0.1:10000', 'unix://csi.sock', 'csi.sock', ''])('rejects %j with the accepted forms', (endpoint) => {
    expect(() => parseEndpoint(endpoint)).toThrow(/use unix:\/\/\/absolute\/path\.sock/);
  });
});

describe('CSI server over a unix socket', () => {
  test('serves the three Identity RPCs', async () => {
    const { client } = await start();
    await expect(client.call('Identity', 'GetPluginInfo')).resolves.toEqual({ name: 'csi.vsphere.vmware.com', vendor_version: '9.9.9', manifest: {} });
    const caps = await client.call<{ capabilities: object[] }>('Identity', 'GetPluginCapabilities');
    expect(caps.capabilities).toEqual([
      { service: { type: 'CONTROLLER_SERVICE' }, type: 'service' },
      { service: { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' }, type: 'service' },
      { volume_expansion: { type: 'ONLINE' }, type: 'volume_expansion' },
    ]);
    await expect(client.call('Identity', 'Probe')).resolves.toEqual({ ready: { value: true } });
  });

  test('unregistered RPCs and services answer UNIMPLEMENTED', async () => {
    const { client } = await start({ Controller: {} });
    const rpc = await codeOf(client.call('Controller', 'CreateVolume', { name: 'pvc-1' }));
    expect(rpc).toEqual({ code: GrpcCode.UNIMPLEMENTED, details: 'Controller.CreateVolume is not implemented by this driver' });
    expect((await codeOf(client.call('Node', 'NodeGetInfo'))).code).toBe(GrpcCode.UNIMPLEMENTED);
  });

  test('Probe reports not-ready, and a failing probe becomes a gRPC status', async () => {
    const path = socketPath();
    let mode: 'ready' | 'initializing' | 'broken' = 'initializing';
    const server = await startCsiServer({
      endpoint: path,
      logger: silentLogger,
      services: {
        Identity: createIdentityService({
          topology: false,
          probe: async () => {
            if (mode === 'broken') throw new VsphereConnectionError('connect ECONNREFUSED 127.0.0.1:443');
            return mode === 'ready';
          },
        }),
      },
    });
    const client = createCsiClient(path);
    cleanups.push(async () => {
      client.close();
      await server.close();
    });
    await expect(client.call('Identity', 'Probe')).resolves.toEqual({ ready: { value: false } });
    mode = 'ready';
    await expect(client.call('Identity', 'Probe')).resolves.toEqual({ ready: { value: true } });
    mode = 'broken';
    expect(await codeOf(client.call('Identity', 'Probe'))).toEqual({
      code: GrpcCode.UNAVAILABLE,
      details: 'vCenter is unreachable: connect ECONNREFUSED 127.0.0.1:443',
    });
  });

  test('creates the parent 0750 and the socket 0660', async () => {
    const { path } = await start();
    expect((await stat(path)).mode & 0o777).toBe(0o660);
    expect((await stat(join(path, '..'))).mode & 0o777).toBe(0o750);
  });

  test('replaces a stale socket left by a killed process', async () => {
    const path = socketPath();
    await mkdir(join(path, '..'), { recursive: true });
    // A process that binds the socket and dies with SIGKILL leaves the file behind.
    await run(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]).catch(
      () => undefined,
    );
    expect((await stat(path)).isSocket()).toBe(true);
    const server = await startCsiServer({ endpoint: path, logger: silentLogger, services: { Identity: createIdentityService({ topology: false, probe: async () => false }) } });
    const client = createCsiClient(path);
    cleanups.push(async () => {
      client.close();
      await server.close();
    });
    await expect(client.call('Identity', 'Probe')).resolves.toEqual({ ready: { value: false } });
  });

  test('refuses to steal a socket a live process serves', async () => {
    const path = socketPath();
    await mkdir(join(path, '..'), { recursive: true });
    const live: Server = createServer((s) => s.end());
    await new Promise<void>((r) => live.listen(path, r));
    cleanups.push(() => new Promise<void>((r) => live.close(() => r())));
    await expect(startCsiServer({ endpoint: path, logger: silentLogger, services: { Identity: {} } })).rejects.toThrow(
      `${path} is served by another running process; stop it first or choose another --endpoint`,
    );
    // The live server still owns a working socket.
    await new Promise<void>((resolve, reject) => connect(path).once('connect', function (this: { destroy(): void }) {
      this.destroy();
      resolve();
    }).once('error', reject));
  });

  test('never deletes a non-socket file at the path', async () => {
    const path = socketPath();
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, 'precious');
    await expect(startCsiServer({ endpoint: path, logger: silentLogger, services: { Identity: {} } })).rejects.toThrow('exists and is not a socket');
    expect(await readFile(path, 'utf8')).toBe('precious');
  });

  test('close() lets an in-flight call finish, refuses new ones, then removes the socket', async () => {
    const g = gate();
    const { server, client, path } = await start({
      Node: {
        NodeGetInfo: async () => {
          g.enter();
          await g.wait;
          return { node_id: 'n1', max_volumes_per_node: '59' };
        },
      },
    });
    const slow = client.call('Node', 'NodeGetInfo');
    await g.entered;
    const closing = server.close();
    expect(server.inFlight()).toBe(1);
    const late = createCsiClient(path);
    cleanups.push(() => late.close());
    // Refused: the listener is gone (UNAVAILABLE; DEADLINE_EXCEEDED only if the machine is too slow to even fail the connect).
    expect([GrpcCode.UNAVAILABLE, GrpcCode.DEADLINE_EXCEEDED]).toContain((await codeOf(late.call('Identity', 'Probe', {}, { timeoutMs: 5000 }))).code);
    g.open();
    await expect(slow).resolves.toEqual({ node_id: 'n1', max_volumes_per_node: '59', accessible_topology: null });
    await closing;
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('after the grace period, in-flight calls are cancelled through their AbortSignal', async () => {
    const g = gate();
    let reason = '';
    const { server, client, path } = await start(
      {
        Controller: {
          DeleteVolume: (_req: unknown, ctx: CallContext) =>
            new Promise((_resolve, reject) => {
              g.enter();
              ctx.signal.addEventListener('abort', () => {
                reason = String((ctx.signal.reason as Error).message);
                reject(ctx.signal.reason);
              });
            }),
        },
      },
      { shutdownGraceMs: 100 },
    );
    const hung = codeOf(client.call('Controller', 'DeleteVolume', { volume_id: 'v1' }));
    await g.entered;
    await server.close();
    expect(reason).toBe('server shutting down');
    expect([GrpcCode.CANCELLED, GrpcCode.UNAVAILABLE]).toContain((await hung).code);
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('client cancellation and deadlines fire the handler AbortSignal', async () => {
    const aborts = new Map<string, Promise<string>>();
    const entered = new Map<string, () => void>();
    const handler = (_req: unknown, ctx: CallContext) =>
      new Promise((_resolve, reject) => {
        entered.get(ctx.method)?.();
        aborts.set(
          ctx.method,
          new Promise<string>((seen) =>
            ctx.signal.addEventListener('abort', () => {
              seen((ctx.signal.reason as Error).name);
              reject(ctx.signal.reason);
            }),
          ),
        );
      });
    const { client } = await start({ Controller: { ControllerPublishVolume: handler, ControllerUnpublishVolume: handler } });
    const ac = new AbortController();
    const wasEntered = new Promise<void>((r) => entered.set('ControllerPublishVolume', r));
    const cancelled = codeOf(client.call('Controller', 'ControllerPublishVolume', { volume_id: 'v' }, { signal: ac.signal }));
    await wasEntered;
    ac.abort();
    expect((await cancelled).code).toBe(GrpcCode.CANCELLED);
    await expect(aborts.get('ControllerPublishVolume')).resolves.toBe('AbortError');
    const timedOut = await codeOf(client.call('Controller', 'ControllerUnpublishVolume', { volume_id: 'v' }, { timeoutMs: 200 }));
    expect(timedOut.code).toBe(GrpcCode.DEADLINE_EXCEEDED);
    // Server side, the deadline fires either our timer (TimeoutError) or grpc-js's own cancellation (AbortError).
    await expect(aborts.get('ControllerUnpublishVolume')).resolves.toMatch(/^(TimeoutError|AbortError)$/);
  });

  test('errors map to gRPC codes on the wire', async () => {
    const { client } = await start({
      Controller: {
        ControllerPublishVolume: async () => {
          throw new VsphereFault('ResourceInUse', 'The resource vol is in use.', { method: 'CnsAttachVolume' });
        },
        DeleteVolume: async () => {
          throw invalidArgument('volume_id: is required and was empty; the CO must set it');
        },
        ListVolumes: async () => {
          throw new TypeError('kaboom at line 3');
        },
      },
    });
    expect(await codeOf(client.call('Controller', 'ControllerPublishVolume', { volume_id: 'v' }))).toEqual({
      code: GrpcCode.FAILED_PRECONDITION,
      details: 'vCenter ResourceInUse during CnsAttachVolume: The resource vol is in use.',
    });
    expect((await codeOf(client.call('Controller', 'DeleteVolume'))).code).toBe(GrpcCode.INVALID_ARGUMENT);
    expect(await codeOf(client.call('Controller', 'ListVolumes'))).toEqual({
      code: GrpcCode.INTERNAL,
      details: 'internal error in the driver; see the driver log for details',
    });
  });

  test('one log line per RPC with method, volume_id, duration and code; secrets never logged', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'trace', destination: { write: (s: string) => void lines.push(s) } });
    const secret = 'TopSecret-Value-123';
    const { client } = await start(
      {
        Controller: {
          CreateVolume: async (req: { secrets: Record<string, string> }, ctx: CallContext) => {
            ctx.log.debug({ secret_keys: Object.keys(req.secrets) }, 'handler saw secrets');
            return { volume: { volume_id: 'vol-42', capacity_bytes: '1' } };
          },
          DeleteVolume: async () => {
            throw new Error('unexpected');
          },
        },
      },
      { logger },
    );
    await client.call('Controller', 'CreateVolume', { name: 'pvc-1', secrets: { password: secret } });
    await codeOf(client.call('Controller', 'DeleteVolume', { volume_id: 'vol-42', secrets: { password: secret } }));
    const text = lines.join('');
    expect(text).not.toContain(secret);
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => typeof r.duration_ms === 'number');
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ method: 'CreateVolume', code: 'OK', level: 'info' });
    expect(records[1]).toMatchObject({ method: 'DeleteVolume', volume_id: 'vol-42', code: 'INTERNAL', level: 'error' });
    expect((records[1]!.err as { message: string }).message).toBe('unexpected');
  });

  test('records per-RPC metrics and serves them at /metrics', async () => {
    const { client, metrics } = await start();
    await client.call('Identity', 'Probe');
    await client.call('Identity', 'Probe');
    const http = await startMetricsServer(0, metrics.registry, { host: '127.0.0.1' });
    cleanups.push(() => http.close());
    const body = await (await fetch(`http://127.0.0.1:${http.port}/metrics`)).text();
    expect(body).toContain('vsphere_csi_rpc_total{method="Probe",code="OK"} 2');
    expect(body).toContain('vsphere_csi_rpc_duration_seconds_count{method="Probe",code="OK"} 2');
    expect(body).toContain('vsphere_csi_rpc_in_flight{method="Probe"} 0');
    expect((await fetch(`http://127.0.0.1:${http.port}/other`)).status).toBe(404);
  });
});

describe('logger redaction of CSI fields', () => {
  test('a request object logged by mistake has secrets and mount_flags redacted', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(s) } });
    logger.info({ req: { volume_id: 'v', secrets: { password: 'hunter2' } } }, 'oops');
    logger.info({ capability: { mount: { mount_flags: ['pw=hunter2'] } } }, 'oops');
    logger.info({ secrets: { token: 'hunter2' } }, 'oops');
    expect(lines.join('')).not.toContain('hunter2');
  });
});
