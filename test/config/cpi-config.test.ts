import { describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCpiConfig, parseCpiConfig } from '../../src/config/cpi-config.js';
import { ConfigError } from '../../src/config/errors.js';

const FIXTURES = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures');
const SRC = '/etc/kubernetes/vsphere.conf';
const parse = (text: string, env: NodeJS.ProcessEnv = {}) => parseCpiConfig(text, SRC, { env });
const NO_DEFAULT_DIR = { env: {}, defaultSecretsDirectory: '' } as const;

describe('CPI config: YAML', () => {
  test('the YAML fixture: global inheritance, per-vCenter overrides, labels, nodes, ipFamily', async () => {
    const cfg = await loadCpiConfig(join(FIXTURES, 'cpi.yaml'), NO_DEFAULT_DIR);
    expect(cfg.format).toBe('yaml');
    expect(cfg.warnings).toEqual([]);
    expect(cfg.ipFamily).toEqual(['ipv4', 'ipv6']);
    expect(cfg.nodeDeletion).toBe(true);
    expect(cfg.vcenter.east).toEqual({
      name: 'east',
      server: '10.0.0.1',
      port: 443,
      datacenters: ['dc-east'],
      user: undefined,
      password: undefined,
      insecure: false,
      caFile: undefined,
      thumbprint: 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01',
      secretName: 'vsphere-creds',
      secretNamespace: 'kube-system',
      ipFamily: ['ipv4', 'ipv6'],
    });
    // password "0123" keeps its leading zero (scalars are read as written).
    expect(cfg.vcenter.west).toMatchObject({ server: 'vc-west.corp.example.com', port: 8443, datacenters: ['dc-west-1', 'dc-west-2'], user: 'administrator@vsphere.local', password: '0123', ipFamily: ['ipv6'] });
    expect(cfg.labels).toEqual({ topologyCategories: [], zone: 'k8s-zone', region: 'k8s-region' });
    expect(cfg.nodes).toEqual({
      internalNetworkSubnetCidr: ['192.0.3.0/24', 'fe80::4/128'],
      externalNetworkSubnetCidr: ['198.51.100.0/24'],
      internalVmNetworkName: 'internal-network',
      externalVmNetworkName: 'external-network',
      excludeInternalNetworkSubnetCidr: ['192.0.2.0/24', 'fe80::1/128'],
      excludeExternalNetworkSubnetCidr: ['192.1.2.0/24'],
    });
  });

  test('older dashed spellings, global.server single vCenter, our extensions', () => {
    const cfg = parse(
      'global:\n  server: vc.example.com\n  user: a@vsphere.local\n  password: pw\n  insecure-flag: true\n  ca-file: /ca.pem\n  nodeDeletion: false\n' +
        'labels:\n  topologyCategories: [k8s-region, k8s-zone]\n',
    );
    expect(Object.keys(cfg.vcenter)).toEqual(['vc.example.com']);
    expect(cfg.vcenter['vc.example.com']).toMatchObject({ server: 'vc.example.com', user: 'a@vsphere.local', password: 'pw', insecure: true, caFile: '/ca.pem', port: 443 });
    expect(cfg.nodeDeletion).toBe(false);
    expect(cfg.labels.topologyCategories).toEqual(['k8s-region', 'k8s-zone']);
  });

  test('YAML details: null means unset, quoted "null" is a value, merge keys, scalars as written', () => {
    const cfg = parse(
      'defaults: &defaults\n  port: 0443\n  user: a@vsphere.local\n' +
        'vcenter:\n  vc1:\n    <<: *defaults\n    password: "null"\n    caFile: ~\n    thumbprint:\n',
    );
    expect(cfg.vcenter.vc1).toMatchObject({ port: 443, user: 'a@vsphere.local', password: 'null', caFile: undefined, thumbprint: undefined });
    expect(cfg.warnings).toEqual([`${SRC}: defaults: unknown key, ignored (check the spelling)`]);
  });

  test('a vCenter without server uses its name; unknown keys are warned by path', () => {
    const cfg = parse('global:\n  secretName: s\n  secretNamespace: ns\n  secretNmae: typo\nvcenter:\n  10.0.0.5:\n    datacenter: dc1\nextra: 1\n');
    expect(cfg.vcenter['10.0.0.5']?.server).toBe('10.0.0.5');
    expect(cfg.warnings).toEqual([
      `${SRC}: global.secretNmae: unknown key, ignored (check the spelling)`,
      `${SRC}: vcenter.10.0.0.5.datacenter: unknown key, ignored (check the spelling)`,
      `${SRC}: extra: unknown key, ignored (check the spelling)`,
    ]);
  });

  test('environment overrides (reference names) and VSPHERE_CPI_NODE_DELETION', () => {
    const cfg = parse('vcenter:\n  a:\n    server: a.example.com\n', {
      VSPHERE_USER: 'env@vsphere.local',
      VSPHERE_PASSWORD: 'envpw',
      VSPHERE_INSECURE: '1',
      VSPHERE_IP_FAMILY: 'ipv6',
      VSPHERE_LABEL_ZONE: 'z',
      VSPHERE_LABEL_REGION: 'r',
      VSPHERE_NODES_INTERNAL_NETWORK_SUBNET_CIDR: '10.0.0.0/8',
      VSPHERE_CPI_NODE_DELETION: 'false',
      VSPHERE_VCENTER_2: 'b.example.com',
      VCENTER_2_USERNAME: 'b@vsphere.local',
      VCENTER_2_PASSWORD: 'bpw',
      VCENTER_2_PORT: '9443',
    });
    expect(cfg.vcenter.a).toMatchObject({ user: 'env@vsphere.local', password: 'envpw', insecure: true, ipFamily: ['ipv6'] });
    expect(cfg.vcenter['b.example.com']).toMatchObject({ server: 'b.example.com', user: 'b@vsphere.local', password: 'bpw', port: 9443 });
    expect(cfg.labels).toMatchObject({ zone: 'z', region: 'r' });
    expect(cfg.nodes.internalNetworkSubnetCidr).toEqual(['10.0.0.0/8']);
    expect(cfg.nodeDeletion).toBe(false);
  });
});

describe('CPI config: INI fallback and csi-vsphere.conf', () => {
  test('the CPI legacy INI fixture', async () => {
    const cfg = await loadCpiConfig(join(FIXTURES, 'cpi-legacy.ini'), NO_DEFAULT_DIR);
    expect(cfg.format).toBe('ini');
    expect(cfg.warnings).toEqual([]);
    expect(cfg.ipFamily).toEqual(['ipv6', 'ipv4']);
    expect(cfg.vcenter['test-server']).toMatchObject({ server: 'test-server', datacenters: ['DC1', 'DC2', 'DC3'], insecure: true, secretName: 'vsphere-creds', secretNamespace: 'kube-system' });
    expect(cfg.vcenter['tenant-b']).toMatchObject({ server: '10.1.1.1', port: 8443, user: 'b@vsphere.local', password: 'pw-b' });
    expect(cfg.labels).toMatchObject({ zone: 'openshift-zone', region: 'openshift-region' });
    expect(cfg.nodes).toMatchObject({
      internalNetworkSubnetCidr: ['192.0.3.0/24', 'fe80::4/128'],
      externalVmNetworkName: 'External/Outbound Traffic',
      excludeInternalNetworkSubnetCidr: ['192.0.2.0/24'],
    });
  });

  test('a csi-vsphere.conf is accepted without warnings for CSI-only keys and sections', async () => {
    const cfg = await loadCpiConfig(join(FIXTURES, 'csi-vsphere.conf'), NO_DEFAULT_DIR);
    expect(cfg.format).toBe('ini');
    expect(cfg.warnings).toEqual([]);
    expect(cfg.global.clusterId).toBe('demo-cluster-01');
    expect(Object.keys(cfg.vcenter)).toEqual(['10.0.0.1', 'vc2.corp.example.com']);
    expect(cfg.vcenter['10.0.0.1']).toMatchObject({ user: 'administrator@vsphere.local', password: 'Adm1n!pass#with;chars', datacenters: ['dc-east', 'dc-west'] });
    expect(cfg.vcenter['vc2.corp.example.com']).toMatchObject({ user: 'CORP\\svc-k8s', caFile: '/etc/ssl/vc2-ca.pem' });
    expect(cfg.labels.topologyCategories).toEqual(['k8s-region', 'k8s-zone']);
  });

  test('csi-vsphere.conf single-vCenter form (vcenterip) works for the CPI', () => {
    const cfg = parse('[Global]\nvcenterip = 10.2.2.2\nuser = u@d\npassword = p\n');
    expect(cfg.vcenter['10.2.2.2']).toMatchObject({ server: '10.2.2.2', user: 'u@d' });
  });
});

describe('CPI config: bad files and their exact messages', () => {
  test.each<[string, string, string]>([
    ['YAML bad port', 'vcenter:\n  vc1:\n    server: s\n    user: u@d\n    password: p\n    port: abc\n', `${SRC}: vcenter.vc1.port: 'abc' is not a number`],
    ['INI bad port', '[VirtualCenter "vc1"]\nuser = u@d\npassword = p\nport = abc\n', `${SRC}: [VirtualCenter "vc1"] port: 'abc' is not a number`],
    ['bad CIDR', 'global:\n  user: u@d\n  password: p\n  server: s\nnodes:\n  internalNetworkSubnetCidr: 10.0.0.0/33\n', `${SRC}: nodes.internalNetworkSubnetCidr: '10.0.0.0/33' is not a CIDR: use address/prefix, e.g. 10.0.0.0/24 or fd00::/64`],
    ['bad ipFamily', 'global:\n  user: u@d\n  password: p\n  server: s\n  ipFamily: [ipv5]\n', `${SRC}: global.ipFamily: 'ipv5' is not an IP family: use ipv4, ipv6, or both in priority order`],
    ['bad insecureFlag', 'global:\n  user: u@d\n  password: p\n  server: s\n  insecureFlag: perhaps\n', `${SRC}: global.insecureFlag: 'perhaps' is not a boolean: use true or false`],
    ['no credentials anywhere', 'vcenter:\n  vc1:\n    server: 10.0.0.1\n', `${SRC}: vcenter.vc1: no credentials: set user and password, or secretName and secretNamespace (a Secret with <server>.username and <server>.password), or secretsDirectory`],
    ['secretName without namespace', 'global:\n  secretName: creds\nvcenter:\n  vc1:\n    server: s\n', `${SRC}: global.secretName: set secretNamespace (secret-namespace) too`],
    ['no vCenter', 'global:\n  user: u@d\n', `${SRC}: no vCenter configured: add vcenter: <name>: {server: ...} (YAML) or a [VirtualCenter "<host>"] section, or set VSPHERE_VCENTER`],
    ['vcenter entry is a list', 'vcenter:\n  vc1: [a, b]\n', `${SRC}: vcenter.vc1: must be a mapping of keys to values`],
    ['nested value', 'global:\n  user: {a: b}\n', `${SRC}: global.user: must be a value or a list of values, not a mapping`],
    ['not a mapping', '- a\n- b\n', `${SRC}: not a YAML mapping (global:, vcenter:, labels:, nodes:) nor an INI file with a [Global] section`],
    ['empty', '\n  \n', `${SRC}: the file is empty`],
  ])('%s', (_name, text, message) => {
    // A class and an error object: jest checks the type, then the exact message.
    expect(() => parse(text)).toThrow(ConfigError);
    expect(() => parse(text)).toThrow(new Error(message));
  });

  test('a YAML syntax error does not quote the offending line (it may hold the password)', () => {
    const secret = 'Xy9-secret: value';
    let message = '';
    try {
      parse(`global:\n  user: u@d\n  password: ${secret}\n`);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^\/etc\/kubernetes\/vsphere\.conf: YAML syntax error [A-Z_]+ at line 3, column \d+$/);
    expect(message).not.toContain('Xy9');
  });

  test('loadCpiConfig uses the default secrets directory only when it exists', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cpi-config-'));
    try {
      const file = join(dir, 'vsphere.conf');
      await writeFile(file, 'vcenter:\n  vc1:\n    server: 10.0.0.1\n');
      const cfg = await loadCpiConfig(file, { env: {}, defaultSecretsDirectory: dir });
      expect(cfg.global.secretsDirectory).toBe(dir);
      await expect(loadCpiConfig(join(dir, 'missing.yaml'), { env: {} })).rejects.toThrow(`${join(dir, 'missing.yaml')}: cannot read the CPI config file: ENOENT`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
