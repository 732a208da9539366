import { describe, expect, test } from '@jest/globals';
import { DEFAULT_CONFIG_PATH, DEFAULT_ENDPOINT, UsageError, parseCli, type CliOptions } from '../../src/cli/args.js';

const parse = (argv: string[], env: Record<string, string> = {}): CliOptions => {
  const out = parseCli(argv, env);
  if (out === 'help') throw new Error('unexpected help');
  return out;
};

const usageError = (argv: string[], env: Record<string, string> = {}): string => {
  try {
    parseCli(argv, env);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('expected a usage error');
};

describe('parseCli', () => {
  test('defaults follow the reference driver', () => {
    const opts = parse(['controller']);
    expect(opts).toMatchObject({ mode: 'controller', endpoint: DEFAULT_ENDPOINT, configPath: DEFAULT_CONFIG_PATH, logLevel: 'info', output: 'text' });
    expect(opts.metricsPort).toBeUndefined();
    expect(DEFAULT_ENDPOINT).toBe('unix:///csi/csi.sock');
  });

  test('mode from X_CSI_MODE; flags win over env', () => {
    const opts = parse(['--endpoint', 'unix:///tmp/flag.sock'], {
      X_CSI_MODE: 'node',
      CSI_ENDPOINT: 'unix:///tmp/env.sock',
      NODE_NAME: 'worker-1',
      MAX_VOLUMES_PER_NODE: '30',
      X_CSI_METRICS_PORT: '9090',
      LOG_LEVEL: 'debug',
      X_CSI_DEVICE_DIR: '/tmp/by-id',
      X_CSI_DMI_DIR: '/tmp/dmi',
      VSPHERE_CSI_CONFIG: '/tmp/csi.conf',
    });
    expect(opts).toMatchObject({
      mode: 'node',
      endpoint: 'unix:///tmp/flag.sock',
      nodeName: 'worker-1',
      maxVolumesPerNode: 30,
      metricsPort: 9090,
      logLevel: 'debug',
      deviceDir: '/tmp/by-id',
      dmiDir: '/tmp/dmi',
      configPath: '/tmp/csi.conf',
    });
  });

  test('each mode accepts every flag it reads; environment variables another mode reads are not errors', () => {
    expect(parse(['cpi', '--cloud-config', '/c.yaml', '--kubeconfig', '/k', '--metrics-port', '0', '--log-level', 'warn'], { VSPHERE_CSI_CONFIG: '/x', NODE_NAME: 'n' })).toMatchObject({ cloudConfigPath: '/c.yaml', kubeconfig: '/k' });
    expect(parse(['preflight', '--config', '/c', '--kubeconfig', '/k', '--output', 'json'], { CSI_ENDPOINT: 'unix:///x' }).output).toBe('json');
    expect(parse(['node', '--endpoint', 'unix:///n', '--config', '/c', '--node-name', 'n', '--device-dir', '/d', '--dmi-dir', '/m', '--kubelet-root-dir', '/k', '--max-volumes-per-node', '5', '--kubeconfig', '/kc']).mode).toBe('node');
    expect(parse(['controller', '--endpoint', 'unix:///c', '--config', '/c', '--metrics-port', '1'], { VSPHERE_CPI_CONFIG: '/y' }).mode).toBe('controller');
  });

  test('the same mode in argument and env is fine; --help wins', () => {
    expect(parse(['node'], { X_CSI_MODE: 'node' }).mode).toBe('node');
    expect(parseCli(['controller', '--help'], {})).toBe('help');
    expect(parseCli(['-h'], {})).toBe('help');
  });

  test.each([
    [[], {}, 'no mode given: pass one of controller, node, cpi, preflight, version or set X_CSI_MODE'],
    [['frobnicate'], {}, "mode must be one of controller, node, cpi, preflight, version, got 'frobnicate'"],
    [['controller'], { X_CSI_MODE: 'node' }, "mode 'controller' conflicts with X_CSI_MODE=node"],
    [['controller', 'node'], {}, "unexpected argument 'node'"],
    [['controller', '--bogus'], {}, "Unknown option '--bogus'"],
    [['controller', '--endpoint'], {}, "Option '--endpoint <value>' argument missing"],
    [['node', '--metrics-port', 'abc'], {}, "--metrics-port must be an integer from 0 to 65535, got 'abc'"],
    [['node', '--max-volumes-per-node', '-1'], {}, '--max-volumes-per-node'],
    [['node', '--log-level', 'loud'], {}, "--log-level must be one of fatal, error, warn, info, debug, trace, silent, got 'loud'"],
    [['preflight', '--output', 'xml'], {}, "--output must be one of text, json, got 'xml'"],
    // A flag the mode does not read is an error naming what it reads, never ignored.
    [['cpi', '--config', '/etc/cloud/vsphere.conf'], {}, '--config is not read in cpi mode: cpi reads its configuration from --cloud-config <file> (or VSPHERE_CPI_CONFIG)'],
    [['controller', '--cloud-config', 'x'], {}, '--cloud-config is not read in controller mode: controller reads its configuration from --config <file> (or VSPHERE_CSI_CONFIG)'],
    [['controller', '--device-dir', '/dev'], {}, '--device-dir is not read in controller mode (only in node): remove it'],
    [['cpi', '--endpoint', 'unix:///x.sock'], {}, '--endpoint is not read in cpi mode (only in controller, node)'],
    [['preflight', '--metrics-port', '1'], {}, '--metrics-port is not read in preflight mode'],
    [['node', '--output', 'json'], {}, '--output is not read in node mode (only in preflight)'],
    [['version', '--log-level', 'debug'], {}, '--log-level is not read in version mode'],
  ])('%j %j → usage error', (argv, env, message) => {
    expect(usageError(argv as string[], env as Record<string, string>)).toContain(message);
  });
});
