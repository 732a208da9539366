/** Shared setup for the vsphere client tests: a client pointed at a simulator (the same one the CPI tests use). */
export { vcsimClient as clientFor } from '../../src/harness/vcsim.js';
