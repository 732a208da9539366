/**
 * Fault injection against the controller served over a real unix socket,
 * with the vCenter simulator misbehaving for real: killed mid-CreateVolume
 * and restarted on the same port, its session terminated from a second
 * client, hung (accepts, never answers), and 32 identical creates at once.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceError } from '@grpc/grpc-js';
import { createCsiClient, type CsiClient } from '../../src/csi/client.js';
import { GrpcCode } from '../../src/csi/errors.js';
import { createIdentityService } from '../../src/csi/identity.js';
import { startCsiServer, type CsiServer } from '../../src/csi/server.js';
import { sessionIsLive } from '../../src/controller/mode.js';
import { createControllerService } from '../../src/controller/service.js';
import { startVcsim, type Vcsim } from '../../src/harness/vcsim.js';
import { silentLogger } from '../../src/log.js';
import type { VsphereClient } from '../../src/vsphere/api.js';
import { createVsphereClient } from '../../src/vsphere/client.js';
import { simSessionKeys } from './sim-sessions.js';

const MOUNT_RWO = { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
const SIM_SHAPE = { clusters: 1, hostsPerCluster: 2, vmsPerPool: 1, standaloneHosts: 0 } as const;

interface Served {
  client: VsphereClient;
  server: CsiServer;
  csi: CsiClient;
  stop(): Promise<void>;
}

/** The controller as controller mode builds it, on its own socket and its own vCenter client. */
async function serve(sim: Vcsim, dir: string): Promise<Served> {
  const client = createVsphereClient({ host: sim.hostname, port: sim.port, user: sim.username, password: sim.password, insecure: true });
  const controller = createControllerService({ client, clusterId: 'faults', vSphereUser: sim.username, labels: { topologyCategories: [] } });
  const server = await startCsiServer({
    endpoint: `unix://${join(dir, 'csi.sock')}`,
    logger: silentLogger,
    shutdownGraceMs: 2_000,
    services: {
      Identity: createIdentityService({ topology: false, probe: () => sessionIsLive(client, silentLogger) }),
      Controller: controller.service,
    },
  });
  const csi = createCsiClient(`unix://${server.socketPath}`);
  return {
    client,
    server,
    csi,
    stop: async () => {
      csi.close();
      await server.close();
      await client.close();
    },
  };
}

async function codeOf(p: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as ServiceError).code;
  }
}

async function volumesNamed(client: VsphereClient, name: string): Promise<string[]> {
  const all = await client.cns.queryAllVolumes({});
  return all.filter((v) => v.name === name).map((v) => v.volumeId);
}

const probeReady = async (csi: CsiClient): Promise<boolean | undefined> =>
  (await csi.call<{ ready?: { value?: boolean } | null }>('Identity', 'Probe', {}, { timeoutMs: 10_000 })).ready?.value;

describe('controller under vCenter faults', () => {
  let sim: Vcsim;
  let dir: string;
  let served: Served;
  let admin: VsphereClient;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'faults-ctrl-'));
    sim = await startVcsim(SIM_SHAPE);
    served = await serve(sim, dir);
    admin = createVsphereClient({ host: sim.hostname, port: sim.port, user: sim.username, password: sim.password, insecure: true });
  }, 60_000);

  afterAll(async () => {
    await sim?.setHang(false).catch(() => undefined);
    await served?.stop().catch(() => undefined);
    await admin?.close().catch(() => undefined);
    await sim?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('session terminated on the vCenter side: transparent re-login, no session leak over 100 operations', async () => {
    const first = await served.csi.call<{ volume: { volume_id: string } }>('Controller', 'CreateVolume', { name: 'pvc-session', volume_capabilities: [MOUNT_RWO] });
    await admin.session.currentSessionKey(); // the second client's own session exists before counting
    const before = await simSessionKeys(sim);
    const statsBefore = served.client.stats();
    const key = await served.client.session.currentSessionKey();
    await admin.session.terminateSessions([key]);
    expect(await simSessionKeys(sim)).not.toContain(key);

    // The next operation needs vCenter: it re-logs in by itself and succeeds.
    const again = await served.csi.call<{ volume: { volume_id: string } }>('Controller', 'CreateVolume', { name: 'pvc-session', volume_capabilities: [MOUNT_RWO] });
    expect(again.volume.volume_id).toBe(first.volume.volume_id);
    for (let i = 0; i < 100; i++) {
      if (i % 2 === 0) await served.csi.call('Controller', 'CreateVolume', { name: 'pvc-session', volume_capabilities: [MOUNT_RWO] });
      else await served.csi.call('Controller', 'ListVolumes', { max_entries: 5 });
    }
    const stats = served.client.stats();
    expect(stats.relogins - statsBefore.relogins).toBe(1);
    expect(stats.sessionsCreated - statsBefore.sessionsCreated).toBe(1);
    // The simulator holds as many sessions as before: the terminated one was replaced, nothing more.
    const after = await simSessionKeys(sim);
    expect(after.length).toBe(before.length);
    expect(await volumesNamed(admin, 'pvc-session')).toHaveLength(1);
  }, 60_000);

  test('32 concurrent identical CreateVolume calls: one CNS volume, every caller gets it or ABORTED', async () => {
    const name = 'pvc-storm-32';
    const results = await Promise.allSettled(
      Array.from({ length: 32 }, () =>
        served.csi.call<{ volume: { volume_id: string } }>('Controller', 'CreateVolume', { name, volume_capabilities: [MOUNT_RWO], capacity_range: { required_bytes: String(1024 ** 3) } }),
      ),
    );
    const volumes = await volumesNamed(admin, name);
    expect(volumes).toHaveLength(1);
    const ids = new Set<string>();
    for (const r of results) {
      if (r.status === 'fulfilled') ids.add(r.value.volume.volume_id);
      else expect((r.reason as ServiceError).code).toBe(GrpcCode.ABORTED);
    }
    expect([...ids]).toEqual(volumes);
  }, 60_000);

  test('vCenter hangs: calls end at their deadline, Identity answers, Probe not ready, automatic recovery', async () => {
    const nodeId = (await admin.inventory.vms())[0]!.biosUuid!;
    const volumeId = (await served.csi.call<{ volume: { volume_id: string } }>('Controller', 'CreateVolume', { name: 'pvc-hang-other', volume_capabilities: [MOUNT_RWO] })).volume.volume_id;
    await sim.setHang(true);
    try {
      const hung = await codeOf(served.csi.call('Controller', 'CreateVolume', { name: 'pvc-hang', volume_capabilities: [MOUNT_RWO] }, { timeoutMs: 1_500 }));
      expect(hung).toBe(GrpcCode.DEADLINE_EXCEEDED);
      // Other RPCs end at their deadline too. A publish whose attach is still outstanding in vCenter keeps
      // the volume's lock (CSI: one operation per volume), so a second operation on that volume is ABORTED.
      const publish = await codeOf(served.csi.call('Controller', 'ControllerPublishVolume', { volume_id: volumeId, node_id: nodeId, volume_capability: MOUNT_RWO }, { timeoutMs: 1_500 }));
      expect(publish).toBe(GrpcCode.DEADLINE_EXCEEDED);
      const second = await codeOf(served.csi.call('Controller', 'ControllerUnpublishVolume', { volume_id: volumeId, node_id: nodeId }, { timeoutMs: 1_500 }));
      expect([GrpcCode.ABORTED, GrpcCode.DEADLINE_EXCEEDED]).toContain(second);
      const other = await codeOf(served.csi.call('Controller', 'DeleteVolume', { volume_id: '00000000-0000-0000-0000-000000000001' }, { timeoutMs: 1_500 }));
      expect(other).toBe(GrpcCode.DEADLINE_EXCEEDED);
      const info = await served.csi.call<{ name: string }>('Identity', 'GetPluginInfo', {}, { timeoutMs: 2_000 });
      expect(info.name).toBe('csi.vsphere.vmware.com');
      expect(await probeReady(served.csi)).toBe(false);
    } finally {
      await sim.setHang(false);
    }
    expect(await probeReady(served.csi)).toBe(true);
    // Once vCenter answers, the held work drains: no call is left running and the volume is free again.
    for (let i = 0; i < 200 && served.server.inFlight() > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(served.server.inFlight()).toBe(0);
    expect(await codeOf(served.csi.call('Controller', 'ControllerUnpublishVolume', { volume_id: volumeId, node_id: nodeId }, { timeoutMs: 15_000 }))).toBe('ok');
    const res = await served.csi.call<{ volume: { volume_id: string } }>('Controller', 'CreateVolume', { name: 'pvc-hang', volume_capabilities: [MOUNT_RWO] }, { timeoutMs: 15_000 });
    expect(await volumesNamed(admin, 'pvc-hang')).toEqual([res.volume.volume_id]);
  }, 60_000);

  // Runs last in this file: it replaces the simulator (fresh inventory and CNS) under the same port.
  test('vCenter killed in the middle of CreateVolume and restarted: the call fails cleanly, the retry succeeds, one volume', async () => {
    const name = 'pvc-killed';
    const listen = `${sim.hostname}:${sim.port}`;
    await sim.setHang(true);
    const inFlight = codeOf(served.csi.call('Controller', 'CreateVolume', { name, volume_capabilities: [MOUNT_RWO] }, { timeoutMs: 20_000 }));
    // Wait until the request is really parked inside the simulator, then kill it.
    for (let i = 0; i < 100 && served.server.inFlight() === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    await sim.stop();
    expect([GrpcCode.UNAVAILABLE, GrpcCode.DEADLINE_EXCEEDED]).toContain(await inFlight);

    sim = await startVcsim({ ...SIM_SHAPE, listen });
    await admin.close();
    admin = createVsphereClient({ host: sim.hostname, port: sim.port, user: sim.username, password: sim.password, insecure: true });
    // The external-provisioner retries with backoff; a few attempts may still meet the old session or cached inventory.
    let volumeId: string | undefined;
    let lastCode: number | 'ok' = 'ok';
    for (let attempt = 0; attempt < 5 && !volumeId; attempt++) {
      try {
        volumeId = (await served.csi.call<{ volume: { volume_id: string } }>('Controller', 'CreateVolume', { name, volume_capabilities: [MOUNT_RWO] }, { timeoutMs: 15_000 })).volume.volume_id;
      } catch (err) {
        lastCode = (err as ServiceError).code;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    expect({ volumeId: volumeId !== undefined, lastCode }).toEqual({ volumeId: true, lastCode: expect.anything() });
    const again = await served.csi.call<{ volume: { volume_id: string } }>('Controller', 'CreateVolume', { name, volume_capabilities: [MOUNT_RWO] });
    expect(again.volume.volume_id).toBe(volumeId);
    expect(await volumesNamed(admin, name)).toEqual([volumeId]);
    expect(await probeReady(served.csi)).toBe(true);
    // No session leak across the restart: the driver holds one session on the new vCenter (plus admin's and the reader's).
    expect(await simSessionKeys(sim)).toHaveLength(3);
    // Logins over the whole file: the first, the re-login after TerminateSession, the re-login after the restart.
    expect(served.client.stats().sessionsCreated).toBe(3);
  }, 90_000);
});
