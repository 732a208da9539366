/**
 * An in-process Kubernetes API server for tests (DESIGN.md, "Kubernetes
 * API"): node:http on 127.0.0.1 with a random port, speaking the real
 * REST/JSON shapes that @kubernetes/client-node 1.4 (and node mode's own
 * client, src/kube/rest-client.ts) sends and expects for
 * nodes (+ /status), events, secrets, configmaps, pods, namespaces,
 * persistentvolumes, persistentvolumeclaims, csinodes and coordination.k8s.io leases: get, list
 * (label/field selectors), watch (resume by resourceVersion, 410 Expired,
 * bookmarks), create, update (409 on a stale resourceVersion), merge /
 * strategic-merge / JSON patch, delete. No admission, no defaulting, no
 * garbage collection: objects are stored as sent.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Json, JsonObject } from './kube-patch.js';
import { findTypeByKind, parseResourcePath, RESOURCE_TYPES, type ResourceType } from './kube-resources.js';
import { create, get, list, patch, remove, replace, type RestResult } from './kube-rest.js';
import { parseFieldSelector, parseLabelSelector } from './kube-selectors.js';
import { KubeStore, metadataOf, StoreError } from './kube-store.js';
import { statusObject } from './kube-status.js';
import { openWatch, type OpenWatch } from './kube-watch.js';

export interface KubeApiServerOptions {
  /** When set, every request must carry `Authorization: Bearer <token>` (or a client certificate, see tls.clientCa; else 401); kubeConfig() sends it. */
  token?: string;
  /** How many changes are kept for watch resumption; older resourceVersions get 410 Expired. Default 10000. */
  watchHistory?: number;
  /**
   * PEM certificate and key: serve HTTPS (see kube-tls.ts); kubeConfig() then
   * trusts exactly this certificate. With `clientCa`, a client certificate it
   * signed is a login too (kube-apiserver's --client-ca-file), and every
   * request must then carry that or the token.
   */
  tls?: { cert: string; key: string; clientCa?: string };
  /** The client certificate and key kubeConfig() hands out (one signed by tls.clientCa). */
  clientCertificate?: { cert: string; key: string };
}

export interface KubeApiRequest {
  method: string;
  /** Path without the query string, e.g. `/api/v1/nodes/n1/status`. */
  path: string;
  query: string;
  contentType: string | undefined;
  /** True for `?watch=true` requests (they stay open). */
  watch: boolean;
  /** How the request authenticated: a matching bearer token, a verified client certificate, or neither. */
  auth?: 'token' | 'certificate' | 'none';
}

/**
 * What a fault hook sees. Return an HTTP status to fail the request with it
 * (a Status body with reason "InjectedFault"), 'hang' to never answer it
 * (until the client gives up or the server stops), or undefined to serve it.
 */
export interface KubeApiFaultRequest extends KubeApiRequest {
  body: Json | undefined;
}
export type KubeApiFault = (request: KubeApiFaultRequest) => number | 'hang' | undefined;

export interface KubeApiServer {
  /** `http://127.0.0.1:<port>` (https with the `tls` option) */
  readonly url: string;
  /** A KubeConfig pointed at this server (http: skipTLSVerify, which client-node requires for http URLs; https: the CA). */
  kubeConfig(): KubeConfig;
  /** Writes `<dir>/kubeconfig` for child processes (set KUBECONFIG to the returned path). */
  writeKubeconfig(dir: string): string;
  /** Create or replace any stored object directly (bumps resourceVersion, notifies watches); returns the stored copy. */
  put<T extends KubernetesObject>(object: T): T;
  /** A copy of a stored object as plain JSON (timestamps are strings), or undefined. */
  get<T extends KubernetesObject = KubernetesObject>(apiVersion: string, kind: string, namespace: string | undefined, name: string): T | undefined;
  /** Copies of all stored objects of a kind (optionally one namespace). */
  list<T extends KubernetesObject = KubernetesObject>(kind: string, namespace?: string): T[];
  /** Delete an object directly (notifies watches); false when it did not exist. */
  remove(apiVersion: string, kind: string, namespace: string | undefined, name: string): boolean;
  /** Every request served so far, oldest first. */
  requests(): KubeApiRequest[];
  resetRequests(): void;
  /** Install (or clear with undefined) a hook that can fail requests, e.g. to make one elector's renewals fail. */
  setFault(fault: KubeApiFault | undefined): void;
  /** Close every open watch: 'end' finishes the response cleanly, 'destroy' drops the socket. */
  closeWatches(how?: 'end' | 'destroy'): number;
  /** Requests currently held open by a 'hang' fault (they leave when the client aborts). */
  hangingCount(): number;
  /** Number of watches currently open. */
  watchCount(): number;
  /** Forget the change history: resuming any older watch gets 410 Expired. */
  compactHistory(): void;
  /** Send a BOOKMARK with the current resourceVersion to watches that allowed bookmarks. */
  bookmark(): void;
  /** The current global resourceVersion. */
  resourceVersion(): number;
  stop(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, result: RestResult): void {
  const payload = JSON.stringify(result.body);
  res.writeHead(result.code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
  res.end(payload);
}

function typeForKind(kind: string, apiVersion?: string): ResourceType {
  const type = apiVersion ? findTypeByKind(apiVersion, kind) : RESOURCE_TYPES.find((t) => t.kind === kind);
  if (!type) throw new Error(`kube-apiserver: unsupported kind ${apiVersion ?? ''} ${kind}`);
  return type;
}

export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const store = new KubeStore(options.watchHistory ?? 10000);
  const served: KubeApiRequest[] = [];
  const watches = new Set<OpenWatch>();
  const hung = new Set<ServerResponse>();
  let fault: KubeApiFault | undefined;

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const contentType = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const tokenOk = options.token !== undefined && req.headers.authorization === `Bearer ${options.token}`;
    const certificateOk = !!options.tls?.clientCa && (req.socket as TLSSocket).authorized === true;
    const auth = tokenOk ? 'token' : certificateOk ? 'certificate' : 'none';
    const record: KubeApiRequest = { method, path: url.pathname, query: url.search, contentType, watch, auth };
    served.push(record);
    const text = await readBody(req);
    let body: Json | undefined;
    if (text.length > 0) {
      try {
        body = JSON.parse(text) as Json;
      } catch {
        throw new StoreError(400, 'BadRequest', 'the request body is not valid JSON');
      }
    }
    if ((options.token !== undefined || options.tls?.clientCa) && auth === 'none') {
      throw new StoreError(401, 'Unauthorized', 'Unauthorized');
    }
    const injected = fault?.({ ...record, body });
    if (injected === 'hang') {
      hung.add(res);
      res.on('close', () => hung.delete(res));
      return;
    }
    if (injected !== undefined) throw new StoreError(injected, 'InjectedFault', `injected fault ${injected} for ${method} ${url.pathname}`);
    if (url.pathname === '/version') {
      send(res, { code: 200, body: { major: '1', minor: '31', gitVersion: 'v1.31.0-kube-apiserver-test' } });
      return;
    }
    const target = parseResourcePath(url.pathname);
    if (!target) throw new StoreError(404, 'NotFound', `the server could not find the requested resource (${method} ${url.pathname})`);
    const { name } = target;
    if (name === undefined) {
      if (method === 'GET' && watch) {
        let predicate;
        try {
          const labels = parseLabelSelector(url.searchParams.get('labelSelector'));
          const fields = parseFieldSelector(url.searchParams.get('fieldSelector'));
          predicate = (object: JsonObject): boolean => labels(object) && fields(object);
        } catch (error) {
          throw new StoreError(400, 'BadRequest', (error as Error).message);
        }
        const timeout = url.searchParams.get('timeoutSeconds');
        const handle = openWatch(
          store,
          {
            type: target.type,
            namespace: target.namespace,
            predicate,
            resourceVersion: url.searchParams.get('resourceVersion') ?? '',
            timeoutSeconds: timeout ? Number(timeout) : undefined,
            allowBookmarks: url.searchParams.get('allowWatchBookmarks') === 'true',
          },
          res,
          (closed) => watches.delete(closed),
        );
        if (!handle.closed()) watches.add(handle);
        return;
      }
      if (method === 'GET') return send(res, list(store, target, url.searchParams));
      if (method === 'POST' && (target.namespace !== undefined || !target.type.namespaced)) {
        return send(res, create(store, target, body));
      }
    } else {
      if (method === 'GET') return send(res, get(store, target, name));
      if (method === 'PUT') {
        if (contentType !== 'application/json') throw new StoreError(415, 'UnsupportedMediaType', `PUT needs application/json, got ${contentType}`);
        return send(res, replace(store, target, name, body));
      }
      if (method === 'PATCH') return send(res, patch(store, target, name, contentType ?? '', body));
      if (method === 'DELETE' && target.subresource === undefined) return send(res, remove(store, target, name));
    }
    throw new StoreError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method} ${url.pathname})`);
  };

  const listener: RequestListener = (req, res) => {
    route(req, res).catch((error: unknown) => {
      const code = error instanceof StoreError ? error.code : 500;
      const reason = error instanceof StoreError ? error.reason : 'InternalError';
      const message = error instanceof Error ? error.message : String(error);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      send(res, { code, body: statusObject(code, reason, message) });
    });
  };
  const tls = options.tls;
  const server = tls
    ? createHttpsServer({ cert: tls.cert, key: tls.key, ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: false } : {}) }, listener)
    : createHttpServer(listener);
  // Many short requests from client-node (it makes a new agent, so a new connection, per request).
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const kubeConfig = (): KubeConfig => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        tls
          ? { name: 'kube-test', server: url, skipTLSVerify: false, caData: Buffer.from(tls.cert).toString('base64') }
          : { name: 'kube-test', server: url, skipTLSVerify: true },
      ],
      users: [
        {
          name: 'kube-test',
          ...(options.token !== undefined ? { token: options.token } : {}),
          ...(options.clientCertificate
            ? { certData: Buffer.from(options.clientCertificate.cert).toString('base64'), keyData: Buffer.from(options.clientCertificate.key).toString('base64') }
            : {}),
        },
      ],
      contexts: [{ name: 'kube-test', cluster: 'kube-test', user: 'kube-test' }],
      currentContext: 'kube-test',
    });
    return kc;
  };

  return {
    url,
    kubeConfig,
    writeKubeconfig(dir) {
      mkdirSync(dir, { recursive: true });
      const path = join(dir, 'kubeconfig');
      writeFileSync(path, kubeConfig().exportConfig(), { mode: 0o600 });
      return path;
    },
    put<T extends KubernetesObject>(object: T): T {
      const type = typeForKind(object.kind ?? '', object.apiVersion);
      const json = JSON.parse(JSON.stringify(object)) as JsonObject;
      const metadata = metadataOf(json);
      const name = String(metadata['name'] ?? '');
      const namespace = type.namespaced ? String(metadata['namespace'] ?? 'default') : undefined;
      delete metadata['resourceVersion'];
      const stored = store.get(type, namespace, name)
        ? store.update(type, namespace, name, json)
        : store.create(type, namespace, json);
      return structuredClone(stored) as unknown as T;
    },
    get<T extends KubernetesObject = KubernetesObject>(apiVersion: string, kind: string, namespace: string | undefined, name: string) {
      const type = typeForKind(kind, apiVersion);
      const object = store.get(type, type.namespaced ? namespace ?? 'default' : undefined, name);
      return object ? (structuredClone(object) as unknown as T) : undefined;
    },
    list<T extends KubernetesObject = KubernetesObject>(kind: string, namespace?: string): T[] {
      return store.list(typeForKind(kind), namespace).map((object) => structuredClone(object) as unknown as T);
    },
    remove(apiVersion, kind, namespace, name) {
      const type = typeForKind(kind, apiVersion);
      const ns = type.namespaced ? namespace ?? 'default' : undefined;
      if (!store.get(type, ns, name)) return false;
      store.delete(type, ns, name);
      return true;
    },
    requests: () => served.map((request) => ({ ...request })),
    resetRequests: () => {
      served.length = 0;
    },
    setFault: (next) => {
      fault = next;
    },
    closeWatches: (how = 'end') => {
      const open = [...watches];
      for (const handle of open) {
        if (how === 'end') handle.end();
        else handle.destroy();
      }
      return open.length;
    },
    watchCount: () => watches.size,
    hangingCount: () => hung.size,
    compactHistory: () => store.compact(),
    bookmark: () => {
      for (const handle of watches) handle.bookmark(store.resourceVersion);
    },
    resourceVersion: () => store.resourceVersion,
    stop: async () => {
      for (const handle of [...watches]) handle.destroy();
      for (const res of [...hung]) res.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
