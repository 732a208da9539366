/**
 * Test-only: what the vCenter simulator itself knows about sessions and
 * volumes, read through its real APIs by an independent connection, so
 * assertions never trust the driver's own counters alone.
 */
import { RawVim } from '../../src/harness/vcsim-raw.js';
import type { Vcsim } from '../../src/harness/vcsim.js';

/** Keys of every session in SessionManager.sessionList (including the one this reader logs in with). */
export async function simSessionKeys(sim: Vcsim): Promise<string[]> {
  const raw = new RawVim(sim);
  await raw.login();
  const text = await raw.call(
    '<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>SessionManager</type><pathSet>sessionList</pathSet></propSet><objectSet><obj type="SessionManager">SessionManager</obj></objectSet></specSet><options></options></RetrievePropertiesEx>',
  );
  const keys = [...text.matchAll(/<key>([^<]+)<\/key>/g)].map((m) => m[1]!);
  await raw.call('<Logout xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this></Logout>');
  return keys;
}
