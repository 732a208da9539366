import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCpiConfig } from '../../src/config/cpi-config.js';
import { credentialsByServer, resolveCpiVCenters, resolveCredentials, type ReadSecret } from '../../src/config/credentials.js';

let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cpi-creds-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The layout kubelet gives a mounted Secret: key symlinks into a timestamped ..data directory. */
async function mountedSecretDir(name: string, data: Record<string, string>): Promise<string> {
  const root = join(dir, name);
  const stamp = join(root, '..2026_01_01_00_00_00.000000001');
  await mkdir(stamp, { recursive: true });
  for (const [k, v] of Object.entries(data)) await writeFile(join(stamp, k), v);
  await symlink('..2026_01_01_00_00_00.000000001', join(root, '..data'));
  for (const k of Object.keys(data)) await symlink(join('..data', k), join(root, k));
  return root;
}

const fakeSecrets = (secrets: Record<string, Record<string, string>>): { read: ReadSecret; calls: string[] } => {
  const calls: string[] = [];
  return {
    calls,
    read: async (namespace, name) => {
      calls.push(`${namespace}/${name}`);
      return secrets[`${namespace}/${name}`];
    },
  };
};

describe('credentials', () => {
  test('inline credentials win and need no Secret read', async () => {
    const cfg = parseCpiConfig('global:\n  user: g@vsphere.local\n  password: gpw\n  secretName: s\n  secretNamespace: ns\nvcenter:\n  a:\n    server: a.example.com\n', 'c.yaml', { env: {} });
    const secrets = fakeSecrets({});
    const vcs = await resolveCpiVCenters(cfg, { readSecret: secrets.read });
    expect(vcs).toEqual([{ host: 'a.example.com', port: 443, user: 'g@vsphere.local', password: 'gpw', insecure: false, caFile: undefined, thumbprint: undefined, datacenters: [] }]);
    expect(secrets.calls).toEqual([]);
  });

  test('secretsDirectory: <server>.username / <server>.password files, mounted-Secret layout, trailing newline', async () => {
    const secretsDir = await mountedSecretDir('mounted', {
      '10.0.0.1.username': 'dir@vsphere.local\n',
      '10.0.0.1.password': 'dir-pw\n',
    });
    const cfg = parseCpiConfig(`global:\n  secretsDirectory: ${secretsDir}\nvcenter:\n  east:\n    server: 10.0.0.1\n`, 'c.yaml', { env: {} });
    const cred = await resolveCredentials(cfg.vcenter.east!, cfg.global);
    expect(cred).toEqual({ user: 'dir@vsphere.local', password: 'dir-pw', source: 'secretsDirectory', from: secretsDir });
  });

  test('Secret via the readSecret callback: per-vCenter Secret, then Global, and the IPv6 alternative keys', async () => {
    const cfg = parseCpiConfig(
      'global:\n  secretName: global-creds\n  secretNamespace: kube-system\n' +
        'vcenter:\n  east:\n    server: 10.0.0.1\n  west:\n    server: west.example.com\n    secretName: west-creds\n    secretNamespace: vmware\n' +
        '  v6:\n    server: "fd00::1"\n',
      'c.yaml',
      { env: {} },
    );
    const secrets = fakeSecrets({
      'kube-system/global-creds': {
        '10.0.0.1.username': 'east@vsphere.local',
        '10.0.0.1.password': 'east-pw',
        server_v6: 'fd00::1',
        username_v6: 'v6@vsphere.local',
        password_v6: 'v6-pw',
      },
      'vmware/west-creds': { 'west.example.com.username': 'west@vsphere.local', 'west.example.com.password': 'west-pw\n' },
    });
    const vcs = await resolveCpiVCenters(cfg, { readSecret: secrets.read });
    expect(vcs.map((v) => [v.host, v.user, v.password])).toEqual([
      ['10.0.0.1', 'east@vsphere.local', 'east-pw'],
      ['west.example.com', 'west@vsphere.local', 'west-pw'],
      ['fd00::1', 'v6@vsphere.local', 'v6-pw'],
    ]);
    expect(secrets.calls).toEqual(['kube-system/global-creds', 'vmware/west-creds', 'kube-system/global-creds']);
  });

  test('secretsDirectory is tried before the Secret', async () => {
    const secretsDir = await mountedSecretDir('both', { 'vc.username': 'file@d', 'vc.password': 'file-pw' });
    const cfg = parseCpiConfig(`global:\n  secretsDirectory: ${secretsDir}\n  secretName: s\n  secretNamespace: ns\nvcenter:\n  vc: {}\n`, 'c.yaml', { env: {} });
    const secrets = fakeSecrets({ 'ns/s': { 'vc.username': 'secret@d', 'vc.password': 'secret-pw' } });
    expect(await resolveCredentials(cfg.vcenter.vc!, cfg.global, { readSecret: secrets.read })).toMatchObject({ user: 'file@d', source: 'secretsDirectory' });
  });

  test('nothing found: the error names each place looked at, and no value', async () => {
    const secretsDir = await mountedSecretDir('partial', { 'vc.example.com.username': 'only-user@d' });
    const cfg = parseCpiConfig(
      `global:\n  secretsDirectory: ${secretsDir}\n  secretName: creds\n  secretNamespace: kube-system\nvcenter:\n  vc1:\n    server: vc.example.com\n`,
      'c.yaml',
      { env: {} },
    );
    const secrets = fakeSecrets({ 'kube-system/creds': { 'other.example.com.username': 'x@d', 'other.example.com.password': 'leak-me-not' } });
    const err = await resolveCredentials(cfg.vcenter.vc1!, cfg.global, { readSecret: secrets.read }).catch((e: Error) => e);
    expect((err as Error).message).toBe(
      `vCenter 'vc1' (server vc.example.com): no credentials found; looked in the config file (user/password): not set; ` +
        `secrets directory ${secretsDir}: vc.example.com.password is missing; ` +
        'Secret kube-system/creds: no vc.example.com.username / vc.example.com.password',
    );
    expect((err as Error).message).not.toContain('leak-me-not');
    expect((err as Error).message).not.toContain('only-user');

    const missing = await resolveCredentials(cfg.vcenter.vc1!, { ...cfg.global, secretsDirectory: join(dir, 'nope') }, { readSecret: fakeSecrets({}).read }).catch((e: Error) => e);
    expect((missing as Error).message).toContain(`secrets directory ${join(dir, 'nope')}: cannot be read; Secret kube-system/creds: not found`);
    const noClient = await resolveCredentials(cfg.vcenter.vc1!, { ...cfg.global, secretsDirectory: undefined }).catch((e: Error) => e);
    expect((noClient as Error).message).toContain('Secret kube-system/creds: not read (no Kubernetes client)');
  });

  test('credentialsByServer parses both key forms', () => {
    expect([...credentialsByServer({ 'a.b.username': 'u', 'a.b.password': 'p\n', server_x: 'fd00::2', username_x: 'ux', password_x: 'px' })]).toEqual([
      ['a.b', { user: 'u', password: 'p' }],
      ['fd00::2', { user: 'ux', password: 'px' }],
    ]);
  });
});
