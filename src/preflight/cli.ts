/** `vsphere-csi preflight`: run the checks, print the report, exit 0 when nothing failed, 1 otherwise. */
import type { CliOptions } from '../cli/args.js';
import { formatJson, formatText } from './format.js';
import { runPreflight } from './run.js';

export async function runPreflightCli(
  opts: Pick<CliOptions, 'configPath' | 'kubeconfig' | 'output'>,
  env: NodeJS.ProcessEnv,
  stdout: (text: string) => void,
): Promise<number> {
  const report = await runPreflight({ configPath: opts.configPath, kubeconfig: opts.kubeconfig, env });
  stdout(opts.output === 'json' ? formatJson(report) : formatText(report));
  return report.ok ? 0 : 1;
}
