#!/usr/bin/env node
/** Entry point of the `vsphere-csi` binary (dist/main.js). */
import { runCli } from './cli/run.js';

runCli(process.argv.slice(2), process.env).then(
  (code) => {
    // Exit explicitly: a mode that leaked a timer must not keep a stopped driver alive.
    process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`vsphere-csi: unexpected failure: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
