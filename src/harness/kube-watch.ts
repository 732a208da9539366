/**
 * Watch streams of the test Kubernetes API server: newline-delimited JSON
 * events over a chunked 200 response, exactly as the real server sends them.
 * A resume from a compacted resourceVersion gets an in-stream ERROR event
 * with a 410 Expired Status (the real behaviour), then the stream ends.
 */
import type { ServerResponse } from 'node:http';
import type { JsonObject } from './kube-patch.js';
import { apiVersionOf, type ResourceType } from './kube-resources.js';
import type { ObjectPredicate } from './kube-selectors.js';
import { metadataOf, type KubeStore, type StoredChange } from './kube-store.js';
import { statusObject } from './kube-status.js';

export interface WatchRequest {
  type: ResourceType;
  namespace?: string;
  predicate: ObjectPredicate;
  resourceVersion: string;
  timeoutSeconds?: number;
  allowBookmarks: boolean;
}

export interface OpenWatch {
  /** True once the stream has ended (a watch from a compacted version ends at once). */
  closed(): boolean;
  /** End the stream cleanly (the client sees a normal end of body). */
  end(): void;
  /** Drop the connection abruptly (the client sees a socket error). */
  destroy(): void;
  bookmark(resourceVersion: number): void;
}

function write(res: ServerResponse, type: string, object: JsonObject): void {
  res.write(`${JSON.stringify({ type, object })}\n`);
}

/** Decide what a selector-filtered watch sees for one change. */
function eventFor(change: StoredChange, predicate: ObjectPredicate): string | undefined {
  const nowMatches = predicate(change.object);
  if (change.type !== 'MODIFIED') return nowMatches ? change.type : undefined;
  const usedToMatch = change.previous ? predicate(change.previous) : false;
  if (nowMatches && usedToMatch) return 'MODIFIED';
  if (nowMatches) return 'ADDED';
  if (usedToMatch) return 'DELETED';
  return undefined;
}

export function openWatch(store: KubeStore, request: WatchRequest, res: ServerResponse, onClose: (watch: OpenWatch) => void): OpenWatch {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache' });
  res.flushHeaders();
  let closed = false;
  let unsubscribe = (): void => {};
  let timer: NodeJS.Timeout | undefined;
  const finish = (): void => {
    if (closed) return;
    closed = true;
    unsubscribe();
    if (timer) clearTimeout(timer);
    onClose(handle);
  };
  res.on('close', finish);
  const handle: OpenWatch = {
    closed: () => closed,
    end: () => {
      finish();
      res.end();
    },
    destroy: () => {
      finish();
      res.destroy();
    },
    bookmark: (resourceVersion) => {
      if (closed || !request.allowBookmarks) return;
      write(res, 'BOOKMARK', {
        kind: request.type.kind,
        apiVersion: apiVersionOf(request.type),
        metadata: { resourceVersion: String(resourceVersion) },
      });
    },
  };

  const deliver = (change: StoredChange): void => {
    if (closed) return;
    const type = eventFor(change, request.predicate);
    if (type) write(res, type, change.object);
  };
  const inNamespace = (object: JsonObject): boolean =>
    request.namespace === undefined || metadataOf(object)['namespace'] === request.namespace;

  const from = request.resourceVersion;
  if (from === '' || from === '0') {
    // "Any version": the real server starts with synthetic ADDED events for the current state.
    for (const object of store.list(request.type, request.namespace)) {
      if (request.predicate(object)) write(res, 'ADDED', object);
    }
  } else {
    const since = Number(from);
    if (!Number.isInteger(since) || since < 0) {
      write(res, 'ERROR', statusObject(400, 'BadRequest', `invalid resourceVersion "${from}"`));
      handle.end();
      return handle;
    }
    if (since < store.oldestResumable) {
      write(res, 'ERROR', statusObject(410, 'Expired', `too old resource version: ${since} (${store.oldestResumable})`));
      handle.end();
      return handle;
    }
    for (const change of store.changesSince(request.type, since)) {
      if (inNamespace(change.object)) deliver(change);
    }
  }
  unsubscribe = store.subscribe({ resource: request.type, namespace: request.namespace, deliver });
  if (request.timeoutSeconds !== undefined && request.timeoutSeconds > 0) {
    timer = setTimeout(() => handle.end(), request.timeoutSeconds * 1000);
    timer.unref();
  }
  return handle;
}
