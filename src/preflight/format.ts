/** The report as a text table for people, or as JSON for automation. */
import type { PreflightReport } from './types.js';

const MARK = { pass: 'PASS', fail: 'FAIL', warn: 'WARN', skip: 'SKIP' } as const;

export function formatJson(report: PreflightReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

export function formatText(report: PreflightReport): string {
  const width = Math.max(5, ...report.checks.map((c) => c.name.length));
  const lines = [`${'CHECK'.padEnd(width)}  STATUS  FINDING`];
  for (const c of report.checks) {
    lines.push(`${c.name.padEnd(width)}  ${MARK[c.status].padEnd(6)}  ${c.finding}`);
    if (c.fix) lines.push(`${''.padEnd(width)}  ${''.padEnd(6)}  fix: ${c.fix}`);
  }
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  const warned = report.checks.filter((c) => c.status === 'warn').length;
  lines.push('', report.ok ? `preflight passed (${warned} warning${warned === 1 ? '' : 's'})` : `preflight FAILED: ${failed} check${failed === 1 ? '' : 's'} failed`);
  return `${lines.join('\n')}\n`;
}
