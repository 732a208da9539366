/**
 * A throwaway self-signed certificate for the test Kubernetes API server, so
 * tests can exercise what only HTTPS reaches: client-node's in-cluster
 * configuration (it refuses plain http unless TLS verification is skipped).
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
