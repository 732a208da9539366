/**
 * Where node mode's Kubernetes requests go and how they authenticate,
 * without @kubernetes/client-node (importing it costs node mode ~57 MiB of
 * RSS and ~0.5 s of start-up: README, dependency table). The sources are the
 * ones node mode has always used:
 * - a kubeconfig file (--kubeconfig, or KUBECONFIG through the CLI), read as
 *   kubectl reads it: the current context's cluster (server, CA,
 *   insecure-skip-tls-verify, tls-server-name) and user (token, tokenFile,
 *   client certificate and key, basic auth); relative file paths resolve
 *   against the kubeconfig's folder;
 * - in a pod, the service account: KUBERNETES_SERVICE_HOST/PORT, the CA and
 *   the token under /var/run/secrets/kubernetes.io/serviceaccount.
 * Token files are re-read for every request: projected service-account
 * tokens rotate (about hourly) and the kubelet rewrites the file in place.
 */
import { readFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { dirname, isAbsolute, join, resolve } from 'node:path';

export interface RestTls {
  /** PEM bundle to trust instead of the system roots. */
  ca?: string;
  /** PEM client certificate and key (kubeconfig client-certificate / client-key). */
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
  /** SNI and certificate name to check, when it differs from the server's host (kubeconfig tls-server-name). */
  servername?: string;
}

/** What one request needs: fresh per request, so rotated tokens and certificates are picked up. */
export interface RestCredentials {
  tls: RestTls;
  /** The Authorization header, or undefined (client certificate only). */
  authorization?: string;
}

export interface RestConfig {
  /** `https://host:port` with an optional path prefix, no trailing slash. */
  server: string;
  credentials: () => Promise<RestCredentials>;
  /** Where the credentials came from, for logs ("kubeconfig /path", "service account"). */
  source: string;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface LoadRestConfigOptions {
  /** Prefix of /var/run/secrets/kubernetes.io/serviceaccount (as client-node's loadFromCluster); tests point it at a temp dir. */
  serviceAccountRoot?: string;
}

/** A kubeconfig file when one is given, else the pod's service account. */
export async function loadRestConfig(kubeconfigPath: string | undefined, env: NodeJS.ProcessEnv, options: LoadRestConfigOptions = {}): Promise<RestConfig> {
  if (kubeconfigPath) return loadKubeconfigFile(kubeconfigPath);
  return loadInCluster(env, options.serviceAccountRoot ?? '');
}

const errorCode = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? (error as Error).message;

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`${path}: cannot read ${what}: ${errorCode(error)}`);
  }
}

async function bearerFromFile(path: string, what: string): Promise<string> {
  return `Bearer ${(await readText(path, what)).trim()}`;
}

/**
 * The pod's service account. Nothing is read here: like client-node, the CA
 * and the token are read for each request, so a missing mount fails the
 * Kubernetes read (NodeGetInfo says why), not the plugin's start.
 */
export function loadInCluster(env: NodeJS.ProcessEnv, root = ''): RestConfig {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port) {
    throw new Error('no Kubernetes credentials: run in a pod with a service account (KUBERNETES_SERVICE_HOST/PORT), or give --kubeconfig');
  }
  // client-node's rule, kept so a cluster that worked before still works: these ports mean plain http.
  const scheme = ['80', '8080', '8001'].includes(port) ? 'http' : 'https';
  const dir = `${root}${SERVICE_ACCOUNT_DIR}`;
  const mounted = '(is the token mounted? automountServiceAccountToken)';
  return {
    server: `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`,
    credentials: async () => ({
      tls: { ca: await readText(join(dir, 'ca.crt'), `the service account's CA certificate ${mounted}`), rejectUnauthorized: true },
      authorization: await bearerFromFile(join(dir, 'token'), `the service account's token ${mounted}`),
    }),
    source: 'service account',
  };
}

type Fields = Record<string, unknown>;

const isFields = (value: unknown): value is Fields => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The `name` entry of a kubeconfig list (clusters, users, contexts) and its inner object. */
function named(doc: Fields, list: string, inner: string, name: string, path: string): Fields {
  const entries = Array.isArray(doc[list]) ? (doc[list] as unknown[]) : [];
  const entry = entries.find((e) => isFields(e) && e['name'] === name) as Fields | undefined;
  if (!entry) throw new Error(`${path}: ${list} has no entry named "${name}": fix the current context or add it`);
  const value = entry[inner];
  if (value === undefined || value === null) return {};
  if (!isFields(value)) throw new Error(`${path}: ${list}["${name}"].${inner} must be a mapping`);
  return value;
}

function stringField(fields: Fields, key: string, where: string): string | undefined {
  const value = fields[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new Error(`${where}.${key} must be a string`);
  return value;
}

/** `<key>-data` (base64, inline) or `<key>` (a file, relative to the kubeconfig's folder), as kubectl reads them. */
async function pemField(fields: Fields, key: string, where: string, base: string): Promise<string | undefined> {
  const data = stringField(fields, `${key}-data`, where);
  if (data) return Buffer.from(data, 'base64').toString('utf8');
  const file = stringField(fields, key, where);
  if (!file) return undefined;
  return readText(isAbsolute(file) ? file : resolve(base, file), `${where}.${key}`);
}

/** kubeconfig auth that node mode does not implement: refuse by name rather than send the request unauthenticated. */
const UNSUPPORTED_USER_KEYS = ['exec', 'auth-provider', 'as', 'as-groups', 'as-uid', 'as-user-extra'] as const;

export async function loadKubeconfigFile(path: string): Promise<RestConfig> {
  const text = await readText(path, 'the kubeconfig');
  // Only the kubeconfig path needs a YAML parser; in a pod it is never loaded.
  const { parse } = await import('yaml');
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    throw new Error(`${path}: not a valid kubeconfig (YAML): ${(error as Error).message.split('\n')[0]}`);
  }
  if (!isFields(doc)) throw new Error(`${path}: not a valid kubeconfig: expected a mapping with clusters, users, contexts and current-context`);
  const contextName = stringField(doc, 'current-context', path);
  if (!contextName) throw new Error('the kubeconfig has no current context with a cluster: set current-context in the kubeconfig');
  const context = named(doc, 'contexts', 'context', contextName, path);
  const clusterName = stringField(context, 'cluster', `${path}: contexts["${contextName}"].context`);
  if (!clusterName) throw new Error('the kubeconfig has no current context with a cluster: set current-context in the kubeconfig');
  const clusterWhere = `${path}: clusters["${clusterName}"].cluster`;
  const cluster = named(doc, 'clusters', 'cluster', clusterName, path);
  const server = stringField(cluster, 'server', clusterWhere);
  if (!server) throw new Error(`${clusterWhere}.server is missing: set the API server's URL`);
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new Error(`${clusterWhere}.server "${server}" is not a URL: write it as https://host:port`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`${clusterWhere}.server "${server}" must be an https:// (or http://) URL`);
  if (stringField(cluster, 'proxy-url', clusterWhere)) throw new Error(`${clusterWhere}.proxy-url is not supported by the node plugin: reach the API server directly`);
  const base = dirname(resolve(path));

  const userName = stringField(context, 'user', `${path}: contexts["${contextName}"].context`);
  const user = userName ? named(doc, 'users', 'user', userName, path) : {};
  const userWhere = `${path}: users["${userName ?? ''}"].user`;
  for (const key of UNSUPPORTED_USER_KEYS) {
    if (user[key] !== undefined) throw new Error(`${userWhere}.${key} is not supported by the node plugin: use a token, a tokenFile or a client certificate`);
  }
  const ca = await pemField(cluster, 'certificate-authority', clusterWhere, base);
  const cert = await pemField(user, 'client-certificate', userWhere, base);
  const key = await pemField(user, 'client-key', userWhere, base);
  if (!!cert !== !!key) throw new Error(`${userWhere}: client-certificate and client-key go together: set both or neither`);
  const servername = stringField(cluster, 'tls-server-name', clusterWhere);
  const tls: RestTls = {
    rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true && cluster['insecure-skip-tls-verify'] !== 'true',
    ...(ca ? { ca } : {}),
    ...(cert && key ? { cert, key } : {}),
    ...(servername ? { servername } : {}),
  };

  const token = stringField(user, 'token', userWhere);
  const tokenFile = stringField(user, 'tokenFile', userWhere);
  const username = stringField(user, 'username', userWhere);
  let authorization: () => Promise<string | undefined> = async () => undefined;
  if (token) authorization = async () => `Bearer ${token}`;
  else if (tokenFile) {
    const file = isAbsolute(tokenFile) ? tokenFile : resolve(base, tokenFile);
    authorization = () => bearerFromFile(file, `${userWhere}.tokenFile`);
  } else if (username) {
    const basic = `Basic ${Buffer.from(`${username}:${stringField(user, 'password', userWhere) ?? ''}`).toString('base64')}`;
    authorization = async () => basic;
  }
  return {
    server: server.replace(/\/+$/, ''),
    credentials: async () => {
      const header = await authorization();
      return { tls, ...(header ? { authorization: header } : {}) };
    },
    source: `kubeconfig ${path}`,
  };
}
