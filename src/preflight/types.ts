/** The preflight report: one line per check, machine-readable with `--output json`. */

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

export interface CheckResult {
  /** Stable id, e.g. "vcenter-tls" (prefixed with the vCenter host when several are configured). */
  name: string;
  status: CheckStatus;
  /** One line: what was found. Never contains a password. */
  finding: string;
  /** On fail (and warn): what to change. */
  fix?: string;
}

export interface PreflightReport {
  /** true when no check failed (warnings and skips do not fail preflight). */
  ok: boolean;
  checks: CheckResult[];
}

export const pass = (name: string, finding: string): CheckResult => ({ name, status: 'pass', finding });
export const fail = (name: string, finding: string, fix: string): CheckResult => ({ name, status: 'fail', finding, fix });
export const warn = (name: string, finding: string, fix?: string): CheckResult => (fix ? { name, status: 'warn', finding, fix } : { name, status: 'warn', finding });
export const skip = (name: string, finding: string): CheckResult => ({ name, status: 'skip', finding });

export function reportOf(checks: CheckResult[]): PreflightReport {
  return { ok: checks.every((c) => c.status !== 'fail'), checks };
}

/** What a finding quotes of an error: a vSphere fault's type, else its message. */
export function whatFailed(err: unknown): string {
  const faultType = (err as { faultType?: unknown } | null | undefined)?.faultType;
  if (typeof faultType === 'string') return faultType;
  return err instanceof Error ? err.message : String(err);
}
