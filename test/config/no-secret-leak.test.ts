/**
 * Runs every loader at debug level with a real pino logger writing into a
 * captured stream, over good files and broken ones, and checks that the
 * password appears in no log line and in no thrown message.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log.js';
import { loadCsiConfig, parseCsiConfig } from '../../src/config/csi-config.js';
import { loadCpiConfig, parseCpiConfig } from '../../src/config/cpi-config.js';
import { resolveCpiVCenters } from '../../src/config/credentials.js';

const PASSWORD = 'Pw-7f3a9c;#"\\x';
/** The password as it would appear escaped in INI, YAML or JSON text. */
const FRAGMENTS = ['Pw-7f3a9c', '7f3a9c'];
const iniPassword = `"Pw-7f3a9c;#\\"\\\\x"`;

let dir = '';
const lines: string[] = [];
const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'config-leak-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const expectNoSecret = (text: string): void => {
  for (const f of FRAGMENTS) expect(text).not.toContain(f);
};

describe('passwords never reach logs or error messages', () => {
  test('the password survives parsing intact (so the checks below are meaningful)', () => {
    const cfg = parseCsiConfig(`[VirtualCenter "vc1"]\nuser = u@vsphere.local\npassword = ${iniPassword}\n`, 'x.conf', { env: {} });
    expect(cfg.vcenters[0]?.password).toBe(PASSWORD);
  });

  test('good and bad files, CSI and CPI, at debug level', async () => {
    const messages: string[] = [];
    const attempt = async (fn: () => unknown): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        messages.push((err as Error).message);
      }
    };
    const csiFile = join(dir, 'csi-vsphere.conf');
    await writeFile(csiFile, `[Global]\nbogus = 1\n[VirtualCenter "vc1"]\nuser = u@vsphere.local\npassword = ${iniPassword}\ninsecure-flag = false\n[Lables]\n`);
    const cpiFile = join(dir, 'vsphere.yaml');
    await writeFile(cpiFile, `global:\n  user: u@vsphere.local\n  password: '${PASSWORD}'\n  typo: 1\nvcenter:\n  vc1:\n    server: 10.0.0.1\n`);

    const env = { VSPHERE_PASSWORD: PASSWORD, VSPHERE_INSECURE: 'true' };
    await attempt(() => loadCsiConfig(csiFile, { env, logger }));
    await attempt(() => loadCsiConfig(join(dir, 'absent.conf'), { env: { VSPHERE_VCENTER: 'v', VSPHERE_USER: 'u@d', VSPHERE_PASSWORD: PASSWORD }, logger }));
    const cpi = await loadCpiConfig(cpiFile, { env: {}, logger, defaultSecretsDirectory: '' });
    await attempt(() => resolveCpiVCenters(cpi, { logger }));
    await attempt(() => loadCpiConfig(csiFile, { env, logger, defaultSecretsDirectory: '' }));

    // Broken files where the password sits next to the mistake.
    const broken = [
      `[VirtualCenter "vc1"]\nuser = administrator\npassword = ${iniPassword}\n`,
      `[VirtualCenter "vc1"]\nuser = u@d\npassword = "${PASSWORD.slice(0, 9)}\nport = 1\n`,
      `[VirtualCenter "vc1"]\nuser = u@d\npassword = ${iniPassword}\nport = nope\n`,
      `password = ${iniPassword}\n`,
      `[VirtualCenter "vc1"]\n${PASSWORD.slice(0, 9)}\n`,
    ];
    for (const text of broken) {
      await attempt(() => parseCsiConfig(text, 'broken.conf', { env: {}, logger }));
      await attempt(() => parseCpiConfig(text, 'broken.conf', { env: {}, logger }));
    }
    const brokenYaml = [
      `global:\n  password: ${PASSWORD.slice(0, 9)}: x\n`,
      `global:\n  password: "${PASSWORD.slice(0, 9)}\n`,
      `global:\n  password:\n    nested: ${PASSWORD.slice(0, 9)}\n`,
      `global:\n  password: ${PASSWORD.slice(0, 9)}\nvcenter:\n  vc1:\n    server: s\n    port: bad\n`,
      `vcenter:\n  vc1:\n    server: s\n    password: ${PASSWORD.slice(0, 9)}\n`,
    ];
    for (const text of brokenYaml) await attempt(() => parseCpiConfig(text, 'broken.yaml', { env: {}, logger }));

    expect(messages.length).toBeGreaterThanOrEqual(12);
    expect(lines.length).toBeGreaterThan(5);
    for (const m of messages) expectNoSecret(m);
    for (const l of lines) expectNoSecret(l);
    // The logs did carry the findings, so the stream really captured them.
    expect(lines.join('')).toContain('bogus: unknown key');
    expect(lines.join('')).toContain('vCenter credentials resolved');
  });
});
