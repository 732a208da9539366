/**
 * The node plugin's Kubernetes client: GET one object and watch it, over
 * Node's built-in http/https. Not client-node (~57 MiB RSS once imported)
 * and not undici (~9 MiB: node mode loads it nowhere else); the measured
 * reasons are in the README's dependency table. Errors keep client-node's
 * shape (`code` = HTTP status, `body` = the Status text), so
 * kubeErrorMessage/httpStatusOf read both alike.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { RestConfig } from './rest-config.js';

/** A Node object is a few KiB; anything this large is not an answer we can use. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** A non-2xx answer. */
export class RestError extends Error {
  override readonly name = 'RestError';
  constructor(
    readonly code: number,
    /** The response text (a JSON Status from a real API server). */
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${code}`);
  }
}

export interface RestClient {
  readonly server: string;
  /** GET and parse JSON; `timeoutMs` bounds the whole exchange, headers to last byte. */
  getJson<T>(path: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<T>;
  /**
   * Watch a collection (`?watch=true`), calling `onEvent` per event
   * (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR). Resolves when the stream
   * ends, breaks or `signal` aborts it (the caller re-reads and watches
   * again); rejects when the watch cannot start (connection, non-2xx).
   */
  watch<T>(path: string, query: Record<string, string | undefined>, onEvent: (type: string, object: T) => void, signal: AbortSignal): Promise<void>;
}

function queryString(query: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, value);
  return params.toString();
}

async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error(`the response is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createRestClient(config: RestConfig): RestClient {
  const https = config.server.startsWith('https:');
  // No keep-alive: the node plugin asks rarely (NodeGetInfo), so an idle socket would only hold server resources.
  const agent = https ? new HttpsAgent({ keepAlive: false }) : new HttpAgent({ keepAlive: false });
  const send = https ? httpsRequest : httpRequest;

  const open = async (pathAndQuery: string, signal: AbortSignal): Promise<IncomingMessage> => {
    const { tls, authorization } = await config.credentials();
    const options: RequestOptions & Record<string, unknown> = {
      method: 'GET',
      agent,
      signal,
      headers: { Accept: 'application/json', 'User-Agent': 'vsphere-csi-node', ...(authorization ? { Authorization: authorization } : {}) },
      ...(https ? tls : {}),
    };
    return await new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(new URL(config.server + pathAndQuery), options, resolve);
      req.once('error', reject);
      req.end();
    });
  };

  const failure = async (res: IncomingMessage, what: string): Promise<RestError> => {
    const body = await readBody(res).catch(() => '');
    return new RestError(res.statusCode ?? 0, body, what);
  };

  return {
    server: config.server,

    async getJson<T>(path: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<T> {
      const what = `GET ${config.server}${path}`;
      const timeout = AbortSignal.timeout(options.timeoutMs);
      const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
      try {
        const res = await open(path, signal);
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) throw await failure(res, what);
        return JSON.parse(await readBody(res)) as T;
      } catch (error) {
        if (error instanceof RestError) throw error;
        if (timeout.aborted) throw new Error(`${what}: no answer within ${options.timeoutMs / 1000} s`);
        throw new Error(`${what}: ${(error as Error).message}`);
      }
    },

    async watch<T>(path: string, query: Record<string, string | undefined>, onEvent: (type: string, object: T) => void, signal: AbortSignal): Promise<void> {
      const what = `GET ${config.server}${path} (watch)`;
      let res: IncomingMessage;
      try {
        res = await open(`${path}?${queryString({ ...query, watch: 'true' })}`, signal);
      } catch (error) {
        if (signal.aborted) return;
        throw new Error(`${what}: ${(error as Error).message}`);
      }
      if (res.statusCode !== 200) throw await failure(res, what);
      const events: Array<{ type: string; object: T }> = [];
      let pending = '';
      try {
        res.setEncoding('utf8');
        for await (const chunk of res as AsyncIterable<string>) {
          pending += chunk;
          if (pending.length > MAX_BODY_BYTES) break;
          let newline: number;
          while ((newline = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, newline).trim();
            pending = pending.slice(newline + 1);
            if (line) events.push(JSON.parse(line) as { type: string; object: T });
          }
          for (const event of events.splice(0)) onEvent(event.type, event.object);
        }
      } catch {
        // Broken, aborted or garbled stream: the watch has ended either way; the caller re-reads.
      } finally {
        res.destroy();
      }
    },
  };
}
