/** TLS modes against the simulator serving a self-signed certificate generated here. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startVcsim, type Vcsim } from '../../src/harness/vcsim.js';
import { createLogger } from '../../src/log.js';
import { VsphereConnectionError } from '../../src/vsphere/faults.js';
import type { VsphereClient, VsphereClientOptions } from '../../src/vsphere/api.js';
import { createVsphereClient } from '../../src/vsphere/client.js';

let dir: string;
let sim: Vcsim;
let cert: X509Certificate;
let certFile: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vsphere-tls-'));
  certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  await promisify(execFile)(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=vcsim-test', '-addext', 'subjectAltName=IP:127.0.0.1'],
    { timeout: 20_000 },
  );
  cert = new X509Certificate(await readFile(certFile));
  sim = await startVcsim({ tlsCert: certFile, tlsKey: keyFile, vmsPerPool: 1 });
});

afterAll(async () => {
  await sim?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function connectWith(tls: Partial<VsphereClientOptions>, host = sim.hostname): Promise<unknown> {
  const client: VsphereClient = createVsphereClient({ host, port: sim.port, user: sim.username, password: sim.password, keepAliveMs: 0, ...tls });
  try {
    return await client.session.currentTime();
  } catch (err) {
    return err;
  } finally {
    await client.close();
  }
}

describe('TLS', () => {
  test('default: the self-signed certificate is rejected with a TLS error that names the fix', async () => {
    const err = await connectWith({});
    expect(err).toBeInstanceOf(VsphereConnectionError);
    expect((err as VsphereConnectionError).details.tls).toBe(true);
    expect((err as Error).message).toMatch(/certificate is not trusted; set ca-file or thumbprint/);
  });

  test('ca-file: verified against the given CA, host name checked too', async () => {
    expect(await connectWith({ caFile: certFile })).toBeInstanceOf(Date);
    const wrongName = await connectWith({ caFile: certFile }, 'localhost');
    expect(wrongName).toBeInstanceOf(VsphereConnectionError);
    expect((wrongName as VsphereConnectionError).details.tls).toBe(true);
  });

  test('thumbprint: SHA-1 and SHA-256 pins accepted, a wrong pin refused', async () => {
    expect(await connectWith({ thumbprint: cert.fingerprint })).toBeInstanceOf(Date);
    expect(await connectWith({ thumbprint: cert.fingerprint256.replace(/:/g, '').toLowerCase() })).toBeInstanceOf(Date);
    const wrong = await connectWith({ thumbprint: '00'.repeat(20) });
    expect(wrong).toBeInstanceOf(VsphereConnectionError);
    expect((wrong as Error).message).toMatch(/does not match the configured thumbprint/);
    expect((wrong as Error).message).toContain(cert.fingerprint);
  });

  test('insecure: connects without verification and warns exactly once', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', destination: { write: (s: string) => void lines.push(s) } });
    expect(await connectWith({ insecure: true, logger })).toBeInstanceOf(Date);
    expect(await connectWith({ insecure: true, logger })).toBeInstanceOf(Date);
    const warnings = lines.filter((l) => l.includes('TLS verification of vCenter is disabled'));
    expect(warnings).toHaveLength(1);
  });
});
