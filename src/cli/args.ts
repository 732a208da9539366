/**
 * Command line and environment of `vsphere-csi`. Flags win over environment
 * variables, which win over defaults; names and defaults follow the
 * reference drivers so existing manifests keep working (X_CSI_MODE,
 * CSI_ENDPOINT, VSPHERE_CSI_CONFIG, NODE_NAME, MAX_VOLUMES_PER_NODE).
 *
 * A flag means the same in every mode, and a flag the chosen mode does not
 * read is a usage error naming the flag that mode wants, never silently
 * ignored (`cpi --config x` used to read /etc/cloud/vsphere.conf).
 * Environment variables stay lenient: one env block is often shared by
 * several containers, so a variable another mode reads is not an error.
 */
import { parseArgs } from 'node:util';

export const MODES = ['controller', 'node', 'cpi', 'preflight', 'version'] as const;
export type Mode = (typeof MODES)[number];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_ENDPOINT = 'unix:///csi/csi.sock';
// Default config file paths, defined only here: src/config reads whatever path it is given.
export const DEFAULT_CONFIG_PATH = '/etc/cloud/csi-vsphere.conf';
export const DEFAULT_CPI_CONFIG_PATH = '/etc/cloud/vsphere.conf';

export interface CliOptions {
  mode: Mode;
  /** CSI socket (controller, node). */
  endpoint: string;
  /** csi-vsphere.conf (controller, preflight). */
  configPath: string;
  /** CPI config (YAML or INI; csi-vsphere.conf also accepted). */
  cloudConfigPath: string;
  logLevel: LogLevel;
  /** Prometheus /metrics port; undefined = no metrics server. */
  metricsPort?: number;
  /** Kubernetes node name (node mode; NODE_NAME from the downward API). */
  nodeName?: string;
  deviceDir?: string;
  dmiDir?: string;
  /** Kubelet root: node RPC paths must lie under it (node mode). */
  kubeletRootDir?: string;
  maxVolumesPerNode?: number;
  /** Out-of-cluster kubeconfig; undefined = in-cluster. */
  kubeconfig?: string;
  /** preflight output format. */
  output: 'text' | 'json';
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const USAGE = `Usage: vsphere-csi <mode> [flags]

Modes (or set X_CSI_MODE):
  controller   CSI Identity + Controller on the CSI socket (Deployment)
  node         CSI Identity + Node on the CSI socket (DaemonSet)
  cpi          initialize Kubernetes Nodes from vCenter (cloud provider)
  preflight    check a vCenter and the cluster against the driver's needs
  version      print the driver name and version

Flags (environment variable in brackets; a flag a mode does not read is an error):
  --endpoint <unix:///path>     controller, node: CSI socket [CSI_ENDPOINT] (default ${DEFAULT_ENDPOINT})
  --config <file>               controller, node, preflight: csi-vsphere.conf [VSPHERE_CSI_CONFIG] (default ${DEFAULT_CONFIG_PATH})
  --cloud-config <file>         cpi: CPI config, YAML or INI [VSPHERE_CPI_CONFIG] (default ${DEFAULT_CPI_CONFIG_PATH})
  --log-level <level>           controller, node, cpi: ${LOG_LEVELS.join('|')} [LOG_LEVEL] (default info)
  --metrics-port <port>         controller, node, cpi: serve /metrics and /healthz [X_CSI_METRICS_PORT] (default: off)
  --node-name <name>            node: this node's name [NODE_NAME]
  --device-dir <dir>            node: disk links [X_CSI_DEVICE_DIR] (default /dev/disk/by-id)
  --dmi-dir <dir>               node: DMI folder [X_CSI_DMI_DIR] (default /sys/class/dmi/id)
  --kubelet-root-dir <dir>      node: RPC paths must lie under it [X_CSI_KUBELET_ROOT_DIR] (default /var/lib/kubelet)
  --max-volumes-per-node <n>    node: reported volume limit [MAX_VOLUMES_PER_NODE] (default 59)
  --kubeconfig <file>           controller, node, cpi, preflight: out-of-cluster Kubernetes access [KUBECONFIG]
  --output <text|json>          preflight: report format (default text)
  -h, --help                    show this help
`;

type FlagName = Exclude<keyof ReturnType<typeof parse>['values'], 'help'>;

/** The modes that read each flag (USAGE says the same). */
const FLAG_MODES: Readonly<Record<FlagName, readonly Mode[]>> = {
  endpoint: ['controller', 'node'],
  config: ['controller', 'node', 'preflight'],
  'cloud-config': ['cpi'],
  'log-level': ['controller', 'node', 'cpi'],
  'metrics-port': ['controller', 'node', 'cpi'],
  'node-name': ['node'],
  'device-dir': ['node'],
  'dmi-dir': ['node'],
  'kubelet-root-dir': ['node'],
  'max-volumes-per-node': ['node'],
  kubeconfig: ['controller', 'node', 'cpi', 'preflight'],
  output: ['preflight'],
};

/** For the two config flags, the one a mode reads instead. */
const CONFIG_FLAG_OF: Partial<Record<Mode, string>> = {
  cpi: '--cloud-config <file> (or VSPHERE_CPI_CONFIG)',
  controller: '--config <file> (or VSPHERE_CSI_CONFIG)',
  node: '--config <file> (or VSPHERE_CSI_CONFIG)',
  preflight: '--config <file> (or VSPHERE_CSI_CONFIG)',
};

function checkFlagsOfMode(mode: Mode, given: readonly FlagName[]): void {
  for (const flag of given) {
    const readers = FLAG_MODES[flag];
    if (readers.includes(mode)) continue;
    const instead = (flag === 'config' || flag === 'cloud-config') && CONFIG_FLAG_OF[mode];
    throw new UsageError(
      instead
        ? `--${flag} is not read in ${mode} mode: ${mode} reads its configuration from ${instead}`
        : `--${flag} is not read in ${mode} mode (only in ${readers.join(', ')}): remove it`,
    );
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v.trim() === '' ? undefined : v.trim());

function parseIntFlag(raw: string | undefined, name: string, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^[0-9]+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`${name} must be an integer from ${min} to ${max}, got '${raw}'`);
  }
  return Number(raw);
}

function oneOf<T extends string>(raw: string, name: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(raw)) throw new UsageError(`${name} must be one of ${allowed.join(', ')}, got '${raw}'`);
  return raw as T;
}

/** Returns 'help' for --help; throws UsageError for anything the program cannot run with. */
export function parseCli(argv: readonly string[], env: Env): CliOptions | 'help' {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}': give exactly one mode`);

  const argMode = positionals[0];
  const envMode = nonEmpty(env.X_CSI_MODE);
  if (argMode !== undefined && envMode !== undefined && argMode !== envMode) {
    throw new UsageError(`mode '${argMode}' conflicts with X_CSI_MODE=${envMode}: unset X_CSI_MODE or make them agree`);
  }
  const rawMode = argMode ?? envMode;
  if (rawMode === undefined) throw new UsageError('no mode given: pass one of ' + MODES.join(', ') + ' or set X_CSI_MODE');
  const mode = oneOf(rawMode, 'mode', MODES);
  checkFlagsOfMode(mode, (Object.keys(values) as Array<keyof typeof values>).filter((k): k is FlagName => k !== 'help' && values[k] !== undefined));

  const pick = (flag: string | undefined, envName: string): string | undefined => nonEmpty(flag) ?? nonEmpty(env[envName]);
  const logLevel = oneOf(pick(values['log-level'], 'LOG_LEVEL') ?? 'info', '--log-level', LOG_LEVELS);
  return {
    mode,
    endpoint: pick(values.endpoint, 'CSI_ENDPOINT') ?? DEFAULT_ENDPOINT,
    configPath: pick(values.config, 'VSPHERE_CSI_CONFIG') ?? DEFAULT_CONFIG_PATH,
    cloudConfigPath: pick(values['cloud-config'], 'VSPHERE_CPI_CONFIG') ?? DEFAULT_CPI_CONFIG_PATH,
    logLevel,
    metricsPort: parseIntFlag(pick(values['metrics-port'], 'X_CSI_METRICS_PORT'), '--metrics-port', 0, 65535),
    nodeName: pick(values['node-name'], 'NODE_NAME'),
    deviceDir: pick(values['device-dir'], 'X_CSI_DEVICE_DIR'),
    dmiDir: pick(values['dmi-dir'], 'X_CSI_DMI_DIR'),
    kubeletRootDir: pick(values['kubelet-root-dir'], 'X_CSI_KUBELET_ROOT_DIR'),
    maxVolumesPerNode: parseIntFlag(pick(values['max-volumes-per-node'], 'MAX_VOLUMES_PER_NODE'), '--max-volumes-per-node', 0, 10_000),
    kubeconfig: pick(values.kubeconfig, 'KUBECONFIG'),
    output: oneOf(values.output ?? 'text', '--output', ['text', 'json'] as const),
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      endpoint: { type: 'string' },
      config: { type: 'string' },
      'cloud-config': { type: 'string' },
      'log-level': { type: 'string' },
      'metrics-port': { type: 'string' },
      'node-name': { type: 'string' },
      'device-dir': { type: 'string' },
      'dmi-dir': { type: 'string' },
      'kubelet-root-dir': { type: 'string' },
      'max-volumes-per-node': { type: 'string' },
      kubeconfig: { type: 'string' },
      output: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
