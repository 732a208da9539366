/**
 * Shared set-up of the preflight tests: one zoned simulator world, the test
 * Kubernetes API with one Node per VM (one with a byte-swapped systemUUID,
 * as some guests report it), a kubeconfig, and csi-vsphere.conf writers.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKubeApiServer, type KubeApiServer } from '../../src/harness/kube-apiserver.js';
import { REGION_CATEGORY, ZONE_CATEGORY, startWorld, type World, type WorldOptions } from '../../src/harness/world.js';
import { kubeletNode } from '../../src/demo/node-objects.js';
import { swapUuidByteOrder } from '../../src/contract/uuid.js';

export interface PreflightFixture {
  world: World;
  kube: KubeApiServer;
  dir: string;
  kubeconfig: string;
  /** Writes a csi-vsphere.conf; `vc` entries override the [VirtualCenter] keys, `labels` the [Labels] line. */
  writeConfig(name: string, options?: { vc?: Record<string, string>; labels?: string | null; host?: string }): Promise<string>;
  stop(): Promise<void>;
}

export async function startPreflightFixture(worldOptions: WorldOptions = {}): Promise<PreflightFixture> {
  const world = await startWorld(worldOptions);
  let kube: KubeApiServer | undefined;
  let dir: string | undefined;
  try {
    kube = await startKubeApiServer();
    dir = await mkdtemp(join(tmpdir(), 'preflight-test-'));
    for (const [i, vm] of world.vms.entries()) {
      const node = kubeletNode(`k8s-node-${i}`, vm.biosUuid!);
      // One guest reports the SMBIOS byte order: the match must try both.
      if (i === 1) node.status!.nodeInfo!.systemUUID = swapUuidByteOrder(vm.biosUuid!).toUpperCase();
      // One Node already initialized by the CPI: matched by providerID.
      if (i === 2) node.spec = { providerID: `vsphere://${vm.biosUuid!}` };
      kube.put(node);
    }
    const kubeconfig = kube.writeKubeconfig(dir);
    const sim = world.sim;
    const workDir = dir;
    return {
      world,
      kube,
      dir,
      kubeconfig,
      async writeConfig(name, options = {}) {
        const vc: Record<string, string> = {
          user: sim.username,
          password: sim.password,
          port: String(sim.port),
          thumbprint: world.thumbprint,
          datacenters: 'DC0',
          ...options.vc,
        };
        const labels = options.labels === undefined ? `topology-categories = "${REGION_CATEGORY},${ZONE_CATEGORY}"` : options.labels;
        const text = [
          '[Global]',
          'cluster-id = "preflight-test"',
          '',
          `[VirtualCenter "${options.host ?? sim.hostname}"]`,
          ...Object.entries(vc).map(([k, v]) => `${k} = "${v}"`),
          '',
          ...(labels === null ? [] : ['[Labels]', labels, '']),
        ].join('\n');
        const path = join(workDir, name);
        await writeFile(path, text, { mode: 0o600 });
        return path;
      },
      async stop() {
        await kube?.stop();
        await world.stop();
        await rm(workDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await kube?.stop();
    await world.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
