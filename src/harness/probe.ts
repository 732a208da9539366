/**
 * Waiting for a freshly started mode to answer Identity.Probe "ready": the
 * one start-up wait shared by the demo, the benchmarks and the process
 * tests. It polls for the socket file, then asks Probe with a fresh client
 * each try (a grpc-js channel that once failed to connect backs off for a
 * second, which would blur start-up figures).
 */
import { existsSync } from 'node:fs';
import { createCsiClient } from '../csi/client.js';
import { parseEndpoint } from '../csi/socket.js';

export interface ProbeWait {
  /** Returns why the process cannot become ready (it exited), or undefined while it is alive. */
  dead: () => string | undefined;
  timeoutMs?: number;
  /** Poll period; default 20 ms. */
  pollMs?: number;
  /** What to add to the time-out message (e.g. where the logs are). */
  describe?: () => string;
}

/** Resolves with the milliseconds waited once Probe answers ready; rejects when the process died or time ran out. */
export async function waitProbeReady(endpoint: string, wait: ProbeWait): Promise<number> {
  const started = performance.now();
  const socketPath = parseEndpoint(endpoint);
  const timeoutMs = wait.timeoutMs ?? 30_000;
  for (;;) {
    const why = wait.dead();
    if (why !== undefined) throw new Error(why);
    if (performance.now() - started > timeoutMs) {
      throw new Error(`${endpoint} not ready after ${timeoutMs} ms${wait.describe ? `: ${wait.describe()}` : ''}`);
    }
    if (existsSync(socketPath)) {
      const client = createCsiClient(endpoint);
      try {
        const res = await client.call<{ ready?: { value?: boolean } | null }>('Identity', 'Probe', {}, { timeoutMs: 5000 });
        if (res.ready?.value !== false) return performance.now() - started;
      } catch {
        // not listening yet
      } finally {
        client.close();
      }
    }
    await new Promise((r) => setTimeout(r, wait.pollMs ?? 20));
  }
}
