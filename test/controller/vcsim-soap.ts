/** Moved to src/harness/vcsim-raw.ts (shared with the demo and benchmarks). */
export * from '../../src/harness/vcsim-raw.js';
