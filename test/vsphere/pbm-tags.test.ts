/** Storage policies (PBM) and tags (vAPI REST) against the vCenter simulator. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startVcsim, type Vcsim } from '../../src/harness/vcsim.js';
import { refKey, type VsphereClient } from '../../src/vsphere/api.js';
import { isFault } from '../../src/vsphere/faults.js';
import { clientFor } from './helpers.js';

let sim: Vcsim;
let client: VsphereClient;

beforeAll(async () => {
  sim = await startVcsim({ clusters: 2, hostsPerCluster: 2, vmsPerPool: 1, datastores: 2 });
  client = clientFor(sim);
});

afterAll(async () => {
  await client?.close();
  await sim?.stop();
});

describe('PBM', () => {
  test('policy name → id (exact, then case-insensitive), cached; unknown name → undefined', async () => {
    client.resetStats();
    const policies = await client.pbm.policies();
    expect(policies.map((p) => p.name)).toContain('vSAN Default Storage Policy');
    const id = await client.pbm.policyIdByName('vSAN Default Storage Policy');
    expect(id).toBe(policies.find((p) => p.name === 'vSAN Default Storage Policy')!.id);
    expect(await client.pbm.policyIdByName('vsan default storage policy')).toBe(id);
    expect(await client.pbm.policyIdByName('no such policy')).toBeUndefined();
    const stats = client.stats().byMethod;
    expect(stats['/pbm PbmQueryProfile']).toBe(1);
    expect(stats['/pbm PbmRetrieveContent']).toBe(1);
  });

  test('compatible datastores for a profile, restricted to candidates', async () => {
    const id = (await client.pbm.policyIdByName('vSAN Default Storage Policy'))!;
    const datastores = await client.inventory.datastores();
    const all = await client.pbm.compatibleDatastores(id);
    expect(all.map((d) => d.value).sort()).toEqual(datastores.map((d) => d.ref.value).sort());
    const one = await client.pbm.compatibleDatastores(id, { candidates: [datastores[1]!.ref] });
    expect(one).toEqual([datastores[1]!.ref]);
  });
});

describe('tags', () => {
  test('categories, tags and attachments; names with XML metacharacters and unicode round-trip; one request for many objects', async () => {
    const clusters = await client.inventory.clusters();
    const hosts = await client.inventory.hosts();
    const dc = (await client.inventory.datacenters())[0]!;
    const zoneName = `k8s-zone <&> "quoted" 'single' — Zürich`;
    const zone = await client.tags.createCategory(zoneName, { cardinality: 'SINGLE', associableTypes: ['ClusterComputeResource', 'HostSystem'] });
    const region = await client.tags.createCategory('k8s-region');
    const zoneA = await client.tags.createTag(`zone-a <b>&amp;</b> "ä" 😀`, zone);
    const zoneB = await client.tags.createTag('zone-b', zone);
    const regionTag = await client.tags.createTag('region-1', region);
    await client.tags.attachTag(zoneA, clusters[0]!.ref);
    await client.tags.attachTag(zoneB, clusters[1]!.ref);
    await client.tags.attachTag(regionTag, dc.ref);

    const categories = await client.tags.categories();
    const zoneCategory = categories.find((c) => c.id === zone)!;
    expect(zoneCategory.name).toBe(zoneName);
    expect(zoneCategory.cardinality).toBe('SINGLE');
    expect(zoneCategory.associableTypes).toEqual(['ClusterComputeResource', 'HostSystem']);

    client.resetStats();
    const attached = await client.tags.attachedTags([clusters[0]!.ref, clusters[1]!.ref, dc.ref, hosts[0]!.ref]);
    expect(client.stats().byMethod['POST /rest/com/vmware/cis/tagging/tag-association']).toBe(1);
    expect(attached.get(refKey(clusters[0]!.ref))!.map((t) => [t.name, t.categoryName])).toEqual([[`zone-a <b>&amp;</b> "ä" 😀`, zoneName]]);
    expect(attached.get(refKey(clusters[1]!.ref))!.map((t) => t.name)).toEqual(['zone-b']);
    expect(attached.get(refKey(dc.ref))!.map((t) => t.name)).toEqual(['region-1']);
    expect(attached.get(refKey(hosts[0]!.ref))).toEqual([]);

    // Cached: a second read costs only the association call.
    client.resetStats();
    await client.tags.attachedTags([clusters[0]!.ref]);
    await client.tags.tags();
    expect(client.stats().total).toBe(1);

    // A tag created behind the cache's back is found by the one refresh.
    const other = clientFor(sim);
    try {
      const late = await other.tags.createTag('zone-late', zone);
      await other.tags.attachTag(late, hosts[0]!.ref);
    } finally {
      await other.close();
    }
    expect((await client.tags.attachedTags([hosts[0]!.ref])).get(refKey(hosts[0]!.ref))!.map((t) => t.name)).toEqual(['zone-late']);

    await client.tags.detachTag(zoneB, clusters[1]!.ref);
    expect((await client.tags.attachedTags([clusters[1]!.ref])).get(refKey(clusters[1]!.ref))).toEqual([]);
  });

  test('duplicate category → AlreadyExists fault', async () => {
    await client.tags.createCategory('dup-category');
    const err = await client.tags.createCategory('dup-category').catch((e: unknown) => e);
    expect(isFault(err, 'AlreadyExists')).toBe(true);
  });
});
