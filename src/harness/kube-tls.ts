/**
 * A throwaway self-signed certificate for the test Kubernetes API server, so
 * tests can exercise what only HTTPS reaches: client-node's in-cluster
 * configuration (it refuses plain http unless TLS verification is skipped),
 * and client certificates for client-certificate logins.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface TestCertificate {
  certPath: string;
  keyPath: string;
  /** PEM */
  cert: string;
  /** PEM */
  key: string;
}

/** Writes cert.pem/key.pem into `dir` (valid for 127.0.0.1 and localhost, 2 days). */
export async function createTestCertificate(dir: string): Promise<TestCertificate> {
  const certPath = join(dir, 'kube-apiserver.crt');
  const keyPath = join(dir, 'kube-apiserver.key');
  await promisify(execFile)(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=kube-apiserver-test',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { timeout: 20_000 },
  );
  return { certPath, keyPath, cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') };
}

export interface TestClientCertificate {
  /** PEM of the CA that signed the client certificate (the server's tls.clientCa). */
  ca: string;
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
}

/** Writes a throwaway client CA and a client certificate it signed (CN = `user`) into `dir`. */
export async function createTestClientCertificate(dir: string, user = 'system:node:test'): Promise<TestClientCertificate> {
  const run = (args: string[]): Promise<unknown> => promisify(execFile)('openssl', args, { timeout: 20_000 });
  const caKey = join(dir, 'client-ca.key');
  const caPath = join(dir, 'client-ca.crt');
  const keyPath = join(dir, 'client.key');
  const csrPath = join(dir, 'client.csr');
  const certPath = join(dir, 'client.crt');
  await run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', caKey, '-out', caPath, '-days', '2', '-subj', '/CN=kube-client-ca-test']);
  await run(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', csrPath, '-subj', `/O=system:nodes/CN=${user}`]);
  await run(['x509', '-req', '-in', csrPath, '-CA', caPath, '-CAkey', caKey, '-CAcreateserial', '-out', certPath, '-days', '2']);
  return { ca: await readFile(caPath, 'utf8'), cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8'), certPath, keyPath };
}
