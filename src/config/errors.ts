/**
 * Config errors and warnings. Every message names the file and the place in
 * it (`[VirtualCenter "vc1"] port`, `vcenter.vc1.port`, `environment
 * VSPHERE_INSECURE`) so an operator can fix it without reading our code.
 * Values are quoted only by callers that know the value is not a secret:
 * nothing here ever sees a password.
 */
import type { Logger } from '../log.js';

/** A raw setting and where it came from, for messages. */
export interface Setting {
  value: string;
  /** `[Global] port`, `vcenter.vc1.port`, `environment VSPHERE_VCENTER_PORT`, ... */
  where: string;
}

export class ConfigError extends Error {
  /** The config file (or `environment` when no file was read). */
  readonly source: string;
  /** Section and key, YAML path or env var name; empty for whole-file problems. */
  readonly where: string;

  constructor(source: string, where: string, problem: string) {
    super(where ? `${source}: ${where}: ${problem}` : `${source}: ${problem}`);
    this.name = 'ConfigError';
    this.source = source;
    this.where = where;
  }
}

/** Collects non-fatal findings; each distinct message is logged once. */
export class Diagnostics {
  readonly warnings: string[] = [];
  private readonly seen = new Set<string>();

  constructor(
    readonly source: string,
    private readonly logger?: Logger,
  ) {}

  warn(where: string, problem: string): void {
    const message = where ? `${this.source}: ${where}: ${problem}` : `${this.source}: ${problem}`;
    if (this.seen.has(message)) return;
    this.seen.add(message);
    this.warnings.push(message);
    this.logger?.warn({ config: this.source }, message);
  }

  error(where: string, problem: string): ConfigError {
    return new ConfigError(this.source, where, problem);
  }
}

/** `[Global]`, `[VirtualCenter "10.0.0.1"]`: how a section is named in messages. */
export function iniSectionLabel(name: string, subsection?: string): string {
  return subsection === undefined ? `[${name}]` : `[${name} "${subsection}"]`;
}
