import { describe, expect, test } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCsiConfig, parseCsiConfig } from '../../src/config/csi-config.js';
import { ConfigError } from '../../src/config/errors.js';
import { createLogger } from '../../src/log.js';

const FIXTURES = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures');
const SRC = '/etc/cloud/csi-vsphere.conf';
const VC = '[VirtualCenter "vc1"]\nuser = "administrator@vsphere.local"\npassword = "pw"\n';
const parse = (text: string, env: NodeJS.ProcessEnv = {}) => parseCsiConfig(text, SRC, { env });

describe('csi-vsphere.conf: good files', () => {
  test('the reference-style fixture loads with every section', async () => {
    const cfg = await loadCsiConfig(join(FIXTURES, 'csi-vsphere.conf'), { env: {} });
    expect(cfg.warnings).toEqual([]);
    expect(cfg.clusterId).toBe('demo-cluster-01');
    expect(cfg.vcenters).toEqual([
      {
        host: '10.0.0.1',
        port: 443,
        user: 'administrator@vsphere.local',
        password: 'Adm1n!pass#with;chars',
        insecure: false,
        caFile: undefined,
        thumbprint: 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01',
        datacenters: ['dc-east', 'dc-west'],
      },
      {
        host: 'vc2.corp.example.com',
        port: 443,
        user: 'CORP\\svc-k8s',
        password: 'another secret',
        insecure: false,
        caFile: '/etc/ssl/vc2-ca.pem',
        thumbprint: undefined,
        datacenters: ['dc-north'],
      },
    ]);
    expect(cfg.labels).toEqual({ topologyCategories: ['k8s-region', 'k8s-zone'], zone: undefined, region: undefined });
    expect(cfg.netPermissions).toEqual({
      A: { ips: '10.20.20.0/24', permissions: 'READ_ONLY', rootSquash: false },
      B: { ips: '*', permissions: 'NO_ACCESS', rootSquash: false },
    });
    expect(cfg.snapshot?.globalMaxSnapshotsPerBlockVolume).toBe(5);
    expect(cfg.topologyCategoryLabels).toEqual({ 'k8s-zone': 'topology.csi.vmware.com/k8s-zone' });
    expect(cfg.global).toMatchObject({
      clusterDistribution: 'Kubernetes',
      csiFetchPreferredDatastoresIntervalMinutes: 10,
      queryLimit: 100,
      listVolumeThreshold: 25,
      vcClientTimeoutMinutes: 5,
      cnsRegisterVolumesCleanupIntervalMinutes: 720,
    });
  });

  test('the metadata syncer keys of [Global] (ours) parse, without a warning; a bad value names the key', () => {
    const cfg = parse('[Global]\nmetadata-syncer = false\nfull-sync-intervalinmin = 10\nvolume-health-intervalinmin = 2\n[VirtualCenter "a"]\nuser = a@vsphere.local\npassword = pw\n');
    expect(cfg.global).toMatchObject({ metadataSyncer: false, fullSyncIntervalMinutes: 10, volumeHealthIntervalMinutes: 2 });
    expect(cfg.warnings).toEqual([]);
    expect(parse('[VirtualCenter "a"]\nuser = a@vsphere.local\npassword = pw\n').global).toMatchObject({ metadataSyncer: undefined, fullSyncIntervalMinutes: undefined });
    expect(() => parse('[Global]\nfull-sync-intervalinmin = soon\n[VirtualCenter "a"]\nuser = a@vsphere.local\npassword = pw\n')).toThrow(/full-sync-intervalinmin/);
  });

  test.each([
    ['an IPv4 address', '10.20.30.40'],
    ['an FQDN with dots', 'vcenter.prod.corp.example.com'],
    ['an IPv6 address', 'fd00::1'],
  ])('VirtualCenter section named by %s keeps the dots', (_what, host) => {
    const cfg = parse(`[VirtualCenter "${host}"]\nuser = a@vsphere.local\npassword = pw\n`);
    expect(cfg.vcenters.map((v) => v.host)).toEqual([host]);
  });

  test('[Global] values are inherited and overridden per vCenter', () => {
    const cfg = parse(
      '[Global]\nuser = g@vsphere.local\npassword = gpw\nport = 444\ndatacenters = dc1\ninsecure-flag = true\n' +
        '[VirtualCenter "a"]\n' +
        '[VirtualCenter "b"]\nuser = b@vsphere.local\npassword = bpw\nport = 8443\ndatacenters = dc2,dc3\n' +
        '[Labels]\ntopology-categories = k8s-zone\n',
    );
    expect(cfg.vcenters).toEqual([
      { host: 'a', port: 444, user: 'g@vsphere.local', password: 'gpw', insecure: true, caFile: undefined, thumbprint: undefined, datacenters: ['dc1'] },
      { host: 'b', port: 8443, user: 'b@vsphere.local', password: 'bpw', insecure: true, caFile: undefined, thumbprint: undefined, datacenters: ['dc2', 'dc3'] },
    ]);
  });

  test('Global-only single vCenter (vcenterip, as gcfg maps the reference field)', () => {
    const cfg = parse('[Global]\nvcenterip = 10.0.0.9\nuser = u@vsphere.local\npassword = pw\n');
    expect(cfg.vcenters).toHaveLength(1);
    expect(cfg.vcenters[0]).toMatchObject({ host: '10.0.0.9', port: 443, user: 'u@vsphere.local' });
  });

  test('gcfg lexing: comments, quotes, escapes, case-insensitive names, bare boolean, continuation', () => {
    const cfg = parse(
      '; comment\n# comment\n[GLOBAL] ; trailing comment\nCluster-ID = "c1" ; inline\nInsecure-Flag\n' +
        '[virtualcenter "Vc1"]\nUSER = DOMAIN\\admin\npassword = "a \\"quoted\\" p#ss;word" # comment\n' +
        'datacenters = dc1,\\\n  dc2\n',
    );
    expect(cfg.clusterId).toBe('c1');
    expect(cfg.vcenters[0]).toMatchObject({ host: 'Vc1', user: 'DOMAIN\\admin', password: 'a "quoted" p#ss;word', insecure: true, datacenters: ['dc1', 'dc2'] });
  });

  test('a password that looks like a boolean or null stays a string', () => {
    expect(parse('[VirtualCenter "v"]\nuser = u@d\npassword = true\n').vcenters[0]?.password).toBe('true');
    expect(parse('[VirtualCenter "v"]\nuser = u@d\npassword = null\n').vcenters[0]?.password).toBe('null');
  });

  test('thumbprint formats: SHA-1 and SHA-256, any case, normalized to upper case', () => {
    const sha1 = 'ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01';
    const sha256 = Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0')).join(':');
    expect(parse(`${VC}thumbprint = ${sha1}\n`).vcenters[0]?.thumbprint).toBe(sha1.toUpperCase());
    expect(parse(`${VC}thumbprint = "${sha256}"\n`).vcenters[0]?.thumbprint).toBe(sha256.toUpperCase());
  });

  test('unknown keys and sections are warnings that name them; the file still loads', () => {
    const cfg = parse(`[Global]\nclustr-id = x\n${VC}targetvSANFileShareDatastoreURLs = ds:///x\nsecret-name = s\n[Lables]\nzone = z\n[GC]\nendpoint = e\n`);
    expect(cfg.vcenters).toHaveLength(1);
    expect(cfg.warnings).toEqual([
      `${SRC}: [Global] clustr-id: unknown key, ignored (check the spelling)`,
      `${SRC}: [VirtualCenter "vc1"] targetvSANFileShareDatastoreURLs: file-volume setting, not used by this driver (block volumes only)`,
      `${SRC}: [VirtualCenter "vc1"] secret-name: read by the CPI only; ignored by the CSI driver`,
      `${SRC}: [Lables]: unknown section, ignored (check the spelling)`,
      `${SRC}: [GC]: section not used by this driver, ignored`,
    ]);
  });

  test('a line without "=" (perhaps a pasted password) is named by its line number, not its text', () => {
    const cfg = parse(`${VC}Hunter2-pasted\n`);
    expect(cfg.warnings).toEqual([`${SRC}: [VirtualCenter "vc1"] line 4 (no '='): unknown key, ignored (check the spelling)`]);
  });

  test('each warning is logged once, at warn level, and returned', () => {
    const logged: Array<{ level: string; msg: string }> = [];
    const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logged.push(JSON.parse(line)) } });
    const cfg = parseCsiConfig(`[Global]\nfoo = 1\n${VC}[Global]\nfoo = 2\n[Extra]\n[Extra]\n`, SRC, { env: {}, logger });
    expect(cfg.warnings).toHaveLength(2);
    expect(logged.map((l) => [l.level, l.msg])).toEqual(cfg.warnings.map((w) => ['warn', w]));
  });

  test('legacy zone/region load with a deprecation warning', () => {
    const cfg = parse(`${VC}[Labels]\nzone = k8s-zone\nregion = k8s-region\n`);
    expect(cfg.labels).toEqual({ topologyCategories: [], zone: 'k8s-zone', region: 'k8s-region' });
    expect(cfg.warnings).toEqual([`${SRC}: [Labels]: zone/region are deprecated: prefer topology-categories`]);
  });

  test('insecure-flag = false in a vCenter does not beat [Global] true (reference), and says so', () => {
    const cfg = parse(`[Global]\ninsecure-flag = true\n${VC}insecure-flag = false\n`);
    expect(cfg.vcenters[0]?.insecure).toBe(true);
    expect(cfg.warnings[0]).toContain('[VirtualCenter "vc1"] insecure-flag: false is overridden by [Global] insecure-flag = true');
  });
});

describe('csi-vsphere.conf: environment overrides (reference names)', () => {
  test('VSPHERE_* override [Global]; a vCenter keeps its own user', () => {
    const cfg = parse(
      '[Global]\nuser = file@vsphere.local\npassword = filepw\nport = 443\n[VirtualCenter "inherits"]\n[VirtualCenter "own"]\nuser = own@vsphere.local\npassword = ownpw\n' +
        '[Labels]\ntopology-categories = k8s-zone\n',
      { VSPHERE_USER: 'env@vsphere.local', VSPHERE_PASSWORD: 'envpw', VSPHERE_VCENTER_PORT: '8443', VSPHERE_INSECURE: 'true', VSPHERE_DATACENTER: 'dcA,dcB' },
    );
    expect(cfg.vcenters[0]).toMatchObject({ host: 'inherits', user: 'env@vsphere.local', password: 'envpw', port: 8443, insecure: true, datacenters: ['dcA', 'dcB'] });
    expect(cfg.vcenters[1]).toMatchObject({ host: 'own', user: 'own@vsphere.local', password: 'ownpw', port: 8443 });
  });

  test('no file section at all: VSPHERE_VCENTER + user/password make the vCenter', () => {
    const cfg = parse('', { VSPHERE_VCENTER: 'vc.env.example.com', VSPHERE_USER: 'e@vsphere.local', VSPHERE_PASSWORD: 'pw', VSPHERE_LABEL_ZONE: 'z', VSPHERE_LABEL_REGION: 'r' });
    expect(cfg.vcenters).toEqual([
      { host: 'vc.env.example.com', port: 443, user: 'e@vsphere.local', password: 'pw', insecure: false, caFile: undefined, thumbprint: undefined, datacenters: [] },
    ]);
    expect(cfg.labels).toMatchObject({ zone: 'z', region: 'r' });
  });

  test('VSPHERE_VCENTER_<ID> with VCENTER_<ID>_* defines a vCenter; VSPHERE_VCENTER_PORT is not one', () => {
    const cfg = parse('[Global]\nuser = g@vsphere.local\npassword = gpw\n', {
      VSPHERE_VCENTER_1: '10.9.9.9',
      VCENTER_1_USERNAME: 'one@vsphere.local',
      VCENTER_1_PORT: '9443',
      VCENTER_1_DATACENTERS: 'dcX',
      VSPHERE_VCENTER_PORT: '443',
    });
    expect(cfg.vcenters).toEqual([
      { host: '10.9.9.9', port: 9443, user: 'one@vsphere.local', password: 'gpw', insecure: false, caFile: undefined, thumbprint: undefined, datacenters: ['dcX'] },
    ]);
  });

  test('several vCenters, each with its own credentials, TLS and datacenters; VCENTER_<ID>_* replace a file section', () => {
    const cfg = parse(
      '[Global]\nuser = g@vsphere.local\npassword = gpw\ndatacenters = dcG\n' +
        `[VirtualCenter "site-a.example.com"]\nuser = a@vsphere.local\npassword = apw\nthumbprint = ${'AB:'.repeat(19)}AB\ndatacenters = dcA\n` +
        '[VirtualCenter "site-b.example.com"]\nca-file = /etc/cloud/b-ca.pem\n' +
        '[Labels]\ntopology-categories = k8s-region,k8s-zone\n',
      {
        // The reference's names: VSPHERE_VCENTER_<ID> = host, then VCENTER_<ID>_USERNAME/_PASSWORD/_PORT/_INSECURE/_DATACENTERS.
        VSPHERE_VCENTER_B: 'site-b.example.com',
        VCENTER_B_USERNAME: 'b@vsphere.local',
        VCENTER_B_PASSWORD: 'bpw',
        VCENTER_B_PORT: '8443',
        VCENTER_B_DATACENTERS: 'dcB1,dcB2',
        VSPHERE_VCENTER_C: 'site-c.example.com',
        VCENTER_C_INSECURE: 'true',
        // A file-volume key of the reference: accepted and not used.
        VCENTER_C_TARGETFSDATASTORES: 'ds:///vmfs/volumes/x/',
      },
    );
    expect(cfg.vcenters.map((v) => [v.host, v.user, v.password, v.port, v.insecure, v.datacenters])).toEqual([
      ['site-a.example.com', 'a@vsphere.local', 'apw', 443, false, ['dcA']],
      // The environment defines site-b anew (as the reference): the file's ca-file is gone with the section.
      ['site-b.example.com', 'b@vsphere.local', 'bpw', 8443, false, ['dcB1', 'dcB2']],
      // Unset values fall back to [Global].
      ['site-c.example.com', 'g@vsphere.local', 'gpw', 443, true, ['dcG']],
    ]);
    expect(cfg.vcenters[0]!.thumbprint).toBe(`${'AB:'.repeat(19)}AB`);
    expect(cfg.vcenters[1]!.caFile).toBeUndefined();
  });

  test('missing file: loadCsiConfig reads the environment alone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'csi-config-'));
    try {
      const cfg = await loadCsiConfig(join(dir, 'absent.conf'), { env: { VSPHERE_VCENTER: 'v', VSPHERE_USER: 'u@d', VSPHERE_PASSWORD: 'p' } });
      expect(cfg.vcenters[0]?.host).toBe('v');
      await expect(loadCsiConfig(join(dir, 'absent.conf'), { env: {} })).rejects.toThrow(`${join(dir, 'absent.conf')}: no vCenter configured`);
      // A path that exists but cannot be read is an error, not "environment only".
      await expect(loadCsiConfig(dir, { env: {} })).rejects.toThrow(`${dir}: cannot read the config file: EISDIR`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const sixVCenters = Array.from({ length: 6 }, (_, i) => `[VirtualCenter "vc${i}.example.com"]\n`).join('');

describe('csi-vsphere.conf: bad files and their exact messages', () => {
  test.each<[string, string, string, NodeJS.ProcessEnv?]>([
    ['bad port', '[VirtualCenter "vc1"]\nuser = u@vsphere.local\npassword = pw\nport = abc\n', `${SRC}: [VirtualCenter "vc1"] port: 'abc' is not a number`],
    ['port out of range', `${VC}port = 70000\n`, `${SRC}: [VirtualCenter "vc1"] port: '70000' is out of range: use a port between 1 and 65535`],
    ['bad port from env', VC, `${SRC}: environment VSPHERE_VCENTER_PORT: 'abc' is not a number`, { VSPHERE_VCENTER_PORT: 'abc' }],
    ['missing password', '[VirtualCenter "vc1"]\nuser = u@vsphere.local\n', `${SRC}: [VirtualCenter "vc1"] password: missing: set password for this vCenter or in [Global] (or VSPHERE_PASSWORD)`],
    ['empty password', '[VirtualCenter "vc1"]\nuser = u@vsphere.local\npassword = ""\n', `${SRC}: [VirtualCenter "vc1"] password: missing: set password for this vCenter or in [Global] (or VSPHERE_PASSWORD)`],
    ['missing user', '[VirtualCenter "vc1"]\npassword = pw\n', `${SRC}: [VirtualCenter "vc1"] user: missing: set user for this vCenter or in [Global] (or VSPHERE_USER)`],
    ['user not domain-qualified', '[VirtualCenter "vc1"]\nuser = administrator\npassword = pw\n', `${SRC}: [VirtualCenter "vc1"] user: 'administrator' is not domain-qualified: use user@domain (e.g. administrator@vsphere.local) or DOMAIN\\user`],
    ['inherited user not domain-qualified', '[Global]\nuser = root\npassword = pw\n[VirtualCenter "vc1"]\n', `${SRC}: [Global] user: 'root' is not domain-qualified: use user@domain (e.g. administrator@vsphere.local) or DOMAIN\\user`],
    ['no vCenter', '[Global]\ncluster-id = c\n', `${SRC}: no vCenter configured: add a [VirtualCenter "<host>"] section with user and password (or set VSPHERE_VCENTER, VSPHERE_USER, VSPHERE_PASSWORD)`],
    ['6 vCenters', `[Global]\nuser = u@d\npassword = p\n${sixVCenters}`, `${SRC}: 6 vCenters configured; at most 5 are supported`],
    [
      'two vCenters without topology-categories',
      `[Global]\nuser = u@d\npassword = p\n[VirtualCenter "a"]\n[VirtualCenter "b"]\n`,
      `${SRC}: [Labels] topology-categories: missing: 2 vCenters are configured (a, b), and with more than one the topology decides which vCenter a volume goes to: tag each vCenter's clusters or hosts with zone tags and set topology-categories = "<region category>,<zone category>" in [Labels]`,
    ],
    [
      'two vCenters with the legacy zone/region only',
      `[Global]\nuser = u@d\npassword = p\n[VirtualCenter "a"]\n[VirtualCenter "b"]\n[Labels]\nzone = k8s-zone\n`,
      `${SRC}: [Labels] topology-categories: missing: 2 vCenters are configured (a, b), and with more than one the topology decides which vCenter a volume goes to: tag each vCenter's clusters or hosts with zone tags and set topology-categories = "<region category>,<zone category>" in [Labels] (instead of the legacy zone/region keys)`,
    ],
    [
      'a file vCenter plus one from the environment, without topology-categories',
      VC,
      `${SRC}: [Labels] topology-categories: missing: 2 vCenters are configured (vc1, vc2), and with more than one the topology decides which vCenter a volume goes to: tag each vCenter's clusters or hosts with zone tags and set topology-categories = "<region category>,<zone category>" in [Labels]`,
      { VSPHERE_VCENTER_2: 'vc2', VCENTER_2_USERNAME: 'u@d', VCENTER_2_PASSWORD: 'p' },
    ],
    ['cluster-id too long', `[Global]\ncluster-id = ${'c'.repeat(65)}\n${VC}`, `${SRC}: [Global] cluster-id: 65 characters long; at most 64 are allowed`],
    ['zone/region with topology-categories', `${VC}[Labels]\ntopology-categories = k8s-zone\nzone = z\n`, `${SRC}: [Labels] topology-categories: cannot be combined with zone/region: keep topology-categories and remove zone and region (deprecated), or the reverse`],
    ['6 topology categories', `${VC}[Labels]\ntopology-categories = a,b,c,d,e,f\n`, `${SRC}: [Labels] topology-categories: 6 categories listed; at most 5 are allowed`],
    ['insecure-flag not a boolean', `${VC}insecure-flag = maybe\n`, `${SRC}: [VirtualCenter "vc1"] insecure-flag: 'maybe' is not a boolean: use true or false`],
    ['VSPHERE_INSECURE not a boolean', VC, `${SRC}: environment VSPHERE_INSECURE: 'sometimes' is not a boolean: use true or false`, { VSPHERE_INSECURE: 'sometimes' }],
    ['thumbprint too short', `${VC}thumbprint = AB:CD:EF\n`, `${SRC}: [VirtualCenter "vc1"] thumbprint: 'AB:CD:EF' is not a certificate fingerprint: use the SHA-1 (20 bytes) or SHA-256 (32 bytes) fingerprint as colon-separated hex, as printed by 'openssl x509 -noout -fingerprint -sha256'`],
    ['thumbprint without colons', `${VC}thumbprint = ${'ab'.repeat(20)}\n`, `${SRC}: [VirtualCenter "vc1"] thumbprint: '${'ab'.repeat(20)}' is not a certificate fingerprint: use the SHA-1 (20 bytes) or SHA-256 (32 bytes) fingerprint as colon-separated hex, as printed by 'openssl x509 -noout -fingerprint -sha256'`],
    ['VirtualCenter without a name', '[VirtualCenter]\nuser = u@d\n', `${SRC}: [VirtualCenter]: this section needs a name, e.g. [VirtualCenter "vcenter.example.com"]`],
    ['key outside any section', 'user = u@d\n', `${SRC}: line 1: key 'user' is outside any section: put it under a [Global] header`],
    ['malformed header', '[VirtualCenter "vc1\nuser = u@d\n', `${SRC}: line 1: malformed section header: use [Name] or [Name "subsection"]`],
    ['bad NetPermissions', `${VC}[NetPermissions "A"]\npermissions = WRITE_ALL\n`, `${SRC}: [NetPermissions "A"] permissions: 'WRITE_ALL' is not a permission: use READ_ONLY, READ_WRITE, NO_ACCESS`],
    ['bad Snapshot count', `${VC}[Snapshot]\nglobal-max-snapshots-per-block-volume = many\n`, `${SRC}: [Snapshot] global-max-snapshots-per-block-volume: 'many' is not a number`],
    ['Global-only vCenter without password', '[Global]\nvcenterip = 10.0.0.9\nuser = u@d\n', `${SRC}: [Global] password: missing: set password for this vCenter or in [Global] (or VSPHERE_PASSWORD)`],
    ['bad query-limit', `[Global]\nquery-limit = -1\n${VC}`, `${SRC}: [Global] query-limit: '-1' is not a number`],
    // A rest parameter: jest would take a fourth declared parameter for a `done` callback on 3-element rows.
  ])('%s', (...row) => {
    const [, text, message, env] = row;
    // A class and an error object: jest checks the type, then the exact message.
    expect(() => parse(text, env ?? {})).toThrow(ConfigError);
    expect(() => parse(text, env ?? {})).toThrow(new Error(message));
  });

  test('an unterminated quote on the password line names the key, not the value', () => {
    const secret = 'Sup3rSecret;#x';
    let message = '';
    try {
      parse(`[VirtualCenter "vc1"]\nuser = u@d\npassword = "${secret}\n`);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe(`${SRC}: [VirtualCenter "vc1"] password: line 3: unterminated quoted value (a '"' inside a value must be written \\")`);
    expect(message).not.toContain('Sup3r');
  });
});
