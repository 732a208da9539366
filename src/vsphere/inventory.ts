/**
 * Inventory reads and the few VM changes tests and preflight need. Bulk reads
 * go through ContainerViews (one RetrievePropertiesEx for all VMs of the
 * configured datacenters); ancestors come from one traversal of `parent`.
 */
import type {
  CallOptions,
  ClusterInfo,
  Datacenter,
  DatastoreClusterInfo,
  DatastoreInfo,
  HostInfo,
  Inventory,
  InventoryObject,
  MoRef,
  VmDisk,
  VmDisks,
  VmInfo,
  VmScope,
} from './api.js';
import { refKey } from './api.js';
import { VsphereFault } from './faults.js';
import { CLUSTER_PATHS, DATASTORE_CLUSTER_PATHS, DATASTORE_PATHS, HOST_PATHS, VM_PATHS, decodeCluster, decodeDatastore, decodeHost, decodeVm, refList } from './inventory-decode.js';
import { filterSpec, objectSpec, propertySpec, selection, traversal, type PropertyReader } from './property-collector.js';
import { one, text, toMoRef } from './soap/decode.js';
import { DEVICE_PATH, VM_DISK_PATHS, decodeDisks, decodeVmDisks } from './vm-disks.js';
import { anyString, moref, obj, poly, type SoapValue } from './soap/envelope.js';
import type { VimSession } from './session.js';
import type { SharedTaskWaiter } from './task-waiter.js';

export class VsphereInventory implements Inventory {
  private datacenterCache?: Promise<Datacenter[]>;

  constructor(
    private readonly session: VimSession,
    private readonly reader: PropertyReader,
    private readonly tasks: SharedTaskWaiter,
    private readonly configuredDatacenters: string[],
  ) {}

  datacenters(options: CallOptions = {}): Promise<Datacenter[]> {
    if (!this.datacenterCache) {
      this.datacenterCache = this.loadDatacenters(options);
      this.datacenterCache.catch(() => {
        this.datacenterCache = undefined;
      });
    }
    return this.datacenterCache;
  }

  async findVmByUuid(biosUuid: string, options: CallOptions = {}): Promise<MoRef | undefined> {
    return this.search('FindByUuid', { uuid: biosUuid.toLowerCase(), vmSearch: true, instanceUuid: false }, options);
  }

  async findVmByDnsName(dnsName: string, options: CallOptions = {}): Promise<MoRef | undefined> {
    return this.search('FindByDnsName', { dnsName, vmSearch: true }, options);
  }

  async findVmByIp(ip: string, options: CallOptions = {}): Promise<MoRef | undefined> {
    return this.search('FindByIp', { ip, vmSearch: true }, options);
  }

  async vm(ref: MoRef, options: CallOptions = {}): Promise<VmInfo> {
    const [found] = await this.vmsByRef([ref], options);
    if (!found) throw new VsphereFault('ManagedObjectNotFound', `virtual machine ${ref.value} no longer exists`, { obj: ref });
    return found;
  }

  async vmsByRef(refs: MoRef[], options: CallOptions = {}): Promise<VmInfo[]> {
    return (await this.reader.objects('VirtualMachine', refs, VM_PATHS, options)).map(decodeVm);
  }

  async vms(options: VmScope = {}): Promise<VmInfo[]> {
    return (await this.reader.viewContents(await this.scope(options), 'VirtualMachine', VM_PATHS, options)).map(decodeVm);
  }

  async vmDisks(refs: MoRef[], options: CallOptions = {}): Promise<Map<string, VmDisk[]>> {
    const out = new Map<string, VmDisk[]>();
    for (const c of await this.reader.objects('VirtualMachine', refs, [DEVICE_PATH], options)) {
      // A VM that exists but whose devices could not be read is left out, like a missing VM.
      if (c.missing.has(DEVICE_PATH)) continue;
      out.set(refKey(c.ref), decodeDisks(c.props.get(DEVICE_PATH)));
    }
    return out;
  }

  async allVmDisks(options: VmScope = {}): Promise<VmDisks[]> {
    return (await this.reader.viewContents(await this.scope(options), 'VirtualMachine', VM_DISK_PATHS, options)).map(decodeVmDisks);
  }

  async hosts(options: VmScope = {}): Promise<HostInfo[]> {
    return (await this.reader.viewContents(await this.scope(options), 'HostSystem', HOST_PATHS, options)).map(decodeHost);
  }

  async clusters(options: VmScope = {}): Promise<ClusterInfo[]> {
    return (await this.reader.viewContents(await this.scope(options), 'ClusterComputeResource', CLUSTER_PATHS, options)).map(decodeCluster);
  }

  async datastores(options: VmScope = {}): Promise<DatastoreInfo[]> {
    return (await this.reader.viewContents(await this.scope(options), 'Datastore', DATASTORE_PATHS, options)).map(decodeDatastore);
  }

  async datastoreClusters(options: VmScope = {}): Promise<DatastoreClusterInfo[]> {
    const pods = await this.reader.viewContents(await this.scope(options), 'StoragePod', DATASTORE_CLUSTER_PATHS, options);
    if (pods.length === 0) return [];
    const chains = await this.ancestorsOfMany(pods.map((p) => p.ref), options);
    return pods.map((p) => {
      const name = text(p.props.get('name')) ?? p.ref.value;
      // Nearest ancestor first, ending at the root folder, which inventory paths leave out.
      const above = (chains.get(refKey(p.ref)) ?? []).slice(0, -1).reverse().map((o) => o.name);
      return {
        ref: p.ref,
        name,
        path: `/${[...above, name].join('/')}`,
        datastores: refList(p.props.get('childEntity')).filter((r) => r.type === 'Datastore'),
      };
    });
  }

  async hostsOfCluster(cluster: MoRef, options: CallOptions = {}): Promise<HostInfo[]> {
    const spec = filterSpec([propertySpec('HostSystem', HOST_PATHS)], [objectSpec(cluster, true, [traversal('hosts', 'ComputeResource', 'host')])]);
    return (await this.reader.retrieve([spec], { ...options })).map(decodeHost);
  }

  async ancestors(ref: MoRef, options: CallOptions = {}): Promise<InventoryObject[]> {
    const chains = await this.ancestorsOfMany([ref], options);
    const chain = chains.get(refKey(ref));
    if (!chain) throw new VsphereFault('ManagedObjectNotFound', `${ref.type} ${ref.value} no longer exists`, { obj: ref });
    return chain;
  }

  async ancestorsOfMany(refs: MoRef[], options: CallOptions = {}): Promise<Map<string, InventoryObject[]>> {
    const out = new Map<string, InventoryObject[]>();
    if (refs.length === 0) return out;
    // Recursive traversal of `parent` (and a VM's parentVApp) from every object at once.
    const up = (): SoapValue[] => [
      traversal('parent', 'ManagedEntity', 'parent', [selection('parent')]),
      traversal('parentVApp', 'VirtualMachine', 'parentVApp', [selection('parent')]),
    ];
    const spec = filterSpec(
      [propertySpec('ManagedEntity', ['name', 'parent'])],
      refs.map((r) => objectSpec(r, false, up())),
      true,
    );
    const objects = new Map<string, InventoryObject>();
    for (const c of await this.reader.retrieve([spec], options)) {
      objects.set(refKey(c.ref), { ref: c.ref, name: text(c.props.get('name')) ?? c.ref.value, parent: toMoRef(c.props.get('parent')) });
    }
    for (const r of refs) {
      const self = objects.get(refKey(r));
      if (!self) continue;
      const chain: InventoryObject[] = [];
      const seen = new Set<string>([refKey(r)]);
      for (let p = self.parent; p && !seen.has(refKey(p)); ) {
        seen.add(refKey(p));
        const o = objects.get(refKey(p));
        if (!o) break;
        chain.push(o);
        p = o.parent;
      }
      out.set(refKey(r), chain);
    }
    return out;
  }

  async setExtraConfig(vm: MoRef, entries: Record<string, string>, options: CallOptions = {}): Promise<void> {
    const extraConfig = Object.entries(entries).map(([key, value]) => poly('OptionValue', { key, value: anyString(value) }));
    await this.runTask('ReconfigVM_Task', vm, { spec: obj('VirtualMachineConfigSpec', { extraConfig }) }, options);
  }

  async powerOnVm(vm: MoRef, options: CallOptions = {}): Promise<void> {
    await this.runTask('PowerOnVM_Task', vm, {}, options);
  }

  async powerOffVm(vm: MoRef, options: CallOptions = {}): Promise<void> {
    await this.runTask('PowerOffVM_Task', vm, {}, options);
  }

  async destroyVm(vm: MoRef, options: CallOptions = {}): Promise<void> {
    await this.runTask('Destroy_Task', vm, {}, options);
  }

  private async runTask(method: string, target: MoRef, params: Record<string, SoapValue>, options: CallOptions): Promise<void> {
    const body = await this.session.call('vim25', method, { _this: moref(target), ...params }, options);
    const task = toMoRef(one(body, 'returnval'));
    if (!task) throw new VsphereFault('InvalidResponse', `${method} returned no task`, { method });
    await this.tasks.wait(task, options);
  }

  private async scope(options: VmScope): Promise<MoRef[]> {
    if (options.container) return [options.container];
    if (this.configuredDatacenters.length === 0) return [(await this.session.serviceContent(options)).rootFolder];
    return (await this.datacenters(options)).map((dc) => dc.ref);
  }

  private async search(method: 'FindByUuid' | 'FindByDnsName' | 'FindByIp', params: Record<string, SoapValue>, options: CallOptions): Promise<MoRef | undefined> {
    const content = await this.session.serviceContent(options);
    // Without configured datacenters one unscoped search covers the whole inventory.
    const scopes: (MoRef | undefined)[] = this.configuredDatacenters.length === 0 ? [undefined] : (await this.datacenters(options)).map((d) => d.ref);
    for (const datacenter of scopes) {
      const body = await this.session.call(
        'vim25',
        method,
        { _this: moref(content.searchIndex), datacenter: datacenter && moref(datacenter), ...params },
        { ...options, idempotent: true },
      );
      const found = toMoRef(one(body, 'returnval'));
      if (found) return found;
    }
    return undefined;
  }

  private async loadDatacenters(options: CallOptions): Promise<Datacenter[]> {
    const content = await this.session.serviceContent(options);
    const walk = traversal('folders', 'Folder', 'childEntity', [selection('folders')]);
    const spec = filterSpec(
      [propertySpec('Datacenter', ['name', 'parent']), propertySpec('Folder', ['name', 'parent'])],
      [objectSpec(content.rootFolder, false, [walk])],
    );
    const entries = new Map<string, { ref: MoRef; name: string; parent?: MoRef }>();
    for (const c of await this.reader.retrieve([spec], options)) {
      entries.set(refKey(c.ref), { ref: c.ref, name: text(c.props.get('name')) ?? c.ref.value, parent: toMoRef(c.props.get('parent')) });
    }
    const pathOf = (e: { ref: MoRef; name: string; parent?: MoRef }): string => {
      const names: string[] = [];
      for (let cur: typeof e | undefined = e; cur && refKey(cur.ref) !== refKey(content.rootFolder); cur = cur.parent && entries.get(refKey(cur.parent))) {
        names.unshift(cur.name);
      }
      return `/${names.join('/')}`;
    };
    const all = [...entries.values()].filter((e) => e.ref.type === 'Datacenter').map((e) => ({ ref: e.ref, name: e.name, path: pathOf(e) }));
    if (this.configuredDatacenters.length === 0) return all;
    return this.configuredDatacenters.map((wanted) => {
      const norm = wanted.replace(/^\/+|\/+$/g, '');
      const dc = all.find((d) => d.name === norm || d.path === `/${norm}`);
      if (!dc) {
        throw new VsphereFault('NotFound', `datacenter "${wanted}" from the configuration does not exist on vCenter (found: ${all.map((d) => d.path).join(', ') || 'none'})`);
      }
      return dc;
    });
  }
}
