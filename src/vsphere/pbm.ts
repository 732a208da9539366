/**
 * Storage policies (PBM at /pbm, joined to the vim25 session through the
 * vcSessionCookie header). Policy lists are cached with a TTL because every
 * CreateVolume with `storagepolicyname` needs the id.
 */
import type { CallOptions, MoRef, Pbm, StoragePolicy } from './api.js';
import { VsphereFault } from './faults.js';
import { all, childText, one, toMoRef } from './soap/decode.js';
import { moref, obj, poly } from './soap/envelope.js';
import type { VimSession } from './session.js';

const PBM_SERVICE_INSTANCE: MoRef = { type: 'PbmServiceInstance', value: 'ServiceInstance' };

export class PbmClient implements Pbm {
  private content?: Promise<{ profileManager: MoRef; placementSolver: MoRef }>;
  private cache?: { at: number; policies: Promise<StoragePolicy[]> };

  constructor(
    private readonly session: VimSession,
    private readonly ttlMs: number,
  ) {}

  policies(options: CallOptions = {}): Promise<StoragePolicy[]> {
    if (!this.cache || Date.now() - this.cache.at > this.ttlMs) {
      const policies = this.loadPolicies(options);
      this.cache = { at: Date.now(), policies };
      policies.catch(() => {
        this.cache = undefined;
      });
    }
    return this.cache.policies;
  }

  async policyIdByName(name: string, options: CallOptions = {}): Promise<string | undefined> {
    const policies = await this.policies(options);
    const exact = policies.find((p) => p.name === name);
    if (exact) return exact.id;
    const lower = name.toLowerCase();
    return policies.find((p) => p.name.toLowerCase() === lower)?.id;
  }

  async compatibleDatastores(profileId: string, options: CallOptions & { candidates?: MoRef[] } = {}): Promise<MoRef[]> {
    const { placementSolver } = await this.serviceContent(options);
    const body = await this.session.call(
      'pbm',
      'PbmCheckRequirements',
      {
        _this: moref(placementSolver),
        hubsToSearch: options.candidates?.map((c) => obj('PbmPlacementHub', { hubType: c.type, hubId: c.value })),
        placementSubjectRequirement: [poly('PbmPlacementCapabilityProfileRequirement', { profileId: obj('PbmProfileId', { uniqueId: profileId }) })],
      },
      { ...options, idempotent: true },
    );
    const compatible = all(body, 'returnval')
      .filter((r) => all(r, 'error').length === 0)
      .map((r) => ({ type: childText(one(r, 'hub'), 'hubType') ?? 'Datastore', value: childText(one(r, 'hub'), 'hubId') ?? '' }))
      .filter((h) => h.type === 'Datastore' && h.value !== '');
    // The simulator ignores hubsToSearch; restrict to the candidates ourselves.
    if (!options.candidates) return compatible;
    const wanted = new Set(options.candidates.map((c) => c.value));
    return compatible.filter((h) => wanted.has(h.value));
  }

  private serviceContent(options: CallOptions): Promise<{ profileManager: MoRef; placementSolver: MoRef }> {
    if (!this.content) {
      this.content = this.session.call('pbm', 'PbmRetrieveServiceContent', { _this: moref(PBM_SERVICE_INSTANCE) }, { ...options, idempotent: true }).then((body) => {
        const rv = one(body, 'returnval');
        const profileManager = toMoRef(one(rv, 'profileManager'));
        const placementSolver = toMoRef(one(rv, 'placementSolver'));
        if (!profileManager || !placementSolver) throw new VsphereFault('InvalidResponse', 'PbmRetrieveServiceContent: incomplete service content');
        return { profileManager, placementSolver };
      });
      this.content.catch(() => {
        this.content = undefined;
      });
    }
    return this.content;
  }

  private async loadPolicies(options: CallOptions): Promise<StoragePolicy[]> {
    const { profileManager } = await this.serviceContent(options);
    const ids = await this.session.call(
      'pbm',
      'PbmQueryProfile',
      { _this: moref(profileManager), resourceType: obj('PbmProfileResourceType', { resourceType: 'STORAGE' }), profileCategory: 'REQUIREMENT' },
      { ...options, idempotent: true },
    );
    const profileIds = all(ids, 'returnval').map((r) => childText(r, 'uniqueId') ?? '').filter((id) => id !== '');
    if (profileIds.length === 0) return [];
    const content = await this.session.call(
      'pbm',
      'PbmRetrieveContent',
      { _this: moref(profileManager), profileIds: profileIds.map((uniqueId) => obj('PbmProfileId', { uniqueId })) },
      { ...options, idempotent: true },
    );
    return all(content, 'returnval').map((p) => ({
      id: childText(one(p, 'profileId'), 'uniqueId') ?? '',
      name: childText(p, 'name') ?? '',
      description: childText(p, 'description') || undefined,
    }));
  }
}
