/**
 * Storage policy name → profile id → compatible datastores, cached briefly:
 * every CreateVolume of one StorageClass asks the same two questions.
 */
import { invalidArgument } from '../csi/errors.js';
import type { CallOptions, VsphereClient } from '../vsphere/api.js';
import { awaitShared } from './abandon.js';

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

  /** Shared by concurrent callers, so read without one caller's signal; each caller's signal ends only its own wait. */
  resolve(name: string, options: CallOptions = {}): Promise<ResolvedPolicy> {
    const now = Date.now();
    let entry = this.cache.get(name);
    if (!entry || now - entry.at >= this.ttlMs) {
      const fresh = { at: now, value: this.read(name, {}) };
      this.cache.set(name, fresh);
      fresh.value.catch(() => {
        if (this.cache.get(name) === fresh) this.cache.delete(name);
      });
      entry = fresh;
    }
    return awaitShared(entry.value, options.signal, `storage policy "${name}" lookup`);
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
