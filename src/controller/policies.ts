/**
 * Storage policy name → profile id → compatible datastores, cached briefly:
 * every CreateVolume of one StorageClass asks the same two questions.
 */
import { invalidArgument } from '../csi/errors.js';
import type { CallOptions, VsphereClient } from '../vsphere/api.js';
import { awaitShared } from './abandon.js';
import { LruMap } from './lru.js';

/** Storage policy names resolved and kept at most. */
export const POLICY_CACHE = 100;

export interface ResolvedPolicy {
  name: string;
  profileId: string;
  /** Datastore moref values compatible with the policy. */
  compatible: ReadonlySet<string>;
}

export class PolicyCache {
  /** Policy names kept (one per StorageClass policy in use), each for the TTL (30 s). */
  private readonly cache: LruMap<string, Promise<ResolvedPolicy>>;

  constructor(private readonly client: VsphereClient, options: { ttlMs?: number } = {}) {
    this.cache = new LruMap({ maxEntries: POLICY_CACHE, maxAgeMs: options.ttlMs ?? 30_000 });
  }

  /** Shared by concurrent callers, so read without one caller's signal; each caller's signal ends only its own wait. */
  resolve(name: string, options: CallOptions = {}): Promise<ResolvedPolicy> {
    let value = this.cache.get(name);
    if (!value) {
      const fresh = this.read(name, {});
      this.cache.set(name, fresh);
      fresh.catch(() => {
        if (this.cache.get(name) === fresh) this.cache.delete(name);
      });
      value = fresh;
    }
    return awaitShared(value, options.signal, `storage policy "${name}" lookup`);
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
