/** Moved to src/harness/loop-lab.ts (shared with the demo and benchmarks). */
export * from '../../src/harness/loop-lab.js';
