/**
 * Storage policy name → profile id → compatible datastores, cached briefly:
 * every CreateVolume of one StorageClass asks the same two questions.
 */
import { invalidArgument } from '../csi/errors.js';
import type { CallOptions, VsphereClient } from '../vsphere/api.js';

export interface ResolvedPolicy {
  name: string;
  profileId: string;
  /** Datastore moref values compatible with the policy. */
  compatible: ReadonlySet<string>;
}

export class PolicyCache {
  private readonly cache = new Map<string, { at: number; value: Promise<ResolvedPolicy> }>();
  private readonly ttlMs: number;

  constructor(private readonly client: VsphereClient, options: { ttlMs?: number } = {}) {
    this.ttlMs = options.ttlMs ?? 30_000;
  }

  resolve(name: string, options: CallOptions = {}): Promise<ResolvedPolicy> {
    const now = Date.now();
    const hit = this.cache.get(name);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    const value = this.read(name, options);
    const entry = { at: now, value };
    this.cache.set(name, entry);
    value.catch(() => {
      if (this.cache.get(name) === entry) this.cache.delete(name);
    });
    return value;
  }

  private async read(name: string, options: CallOptions): Promise<ResolvedPolicy> {
    const profileId = await this.client.pbm.policyIdByName(name, options);
    if (!profileId) {
      throw invalidArgument(
        `parameters.storagepolicyname: vCenter has no storage policy named "${name}"; create it (Policies and Profiles > VM Storage Policies) or fix the StorageClass`,
      );
    }
    const compatible = await this.client.pbm.compatibleDatastores(profileId, options);
    return { name, profileId, compatible: new Set(compatible.map((ref) => ref.value)) };
  }
}
