/**
 * Whether each vCenter answers, as far as this process has seen: every
 * request outcome (a successful request → up; a refused connection → down;
 * our own request timeout → down only when the one before also timed out: a
 * single slow answer on a loaded vCenter, or machine, is not an outage) and
 * every Probe. With several vCenters this
 * decides which reads may be skipped (a vCenter known down is not waited on
 * for work that does not need it), is logged once per change with the
 * vCenter's name, and is exported as `vsphere_csi_vcenter_up`.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../log.js';
import type { RequestEvent } from '../vsphere/api.js';

const TIMEOUTS_FOR_DOWN = 2;

export type VcenterState = 'unknown' | 'up' | 'down';

export class VcenterHealth {
  private current: VcenterState = 'unknown';
  private why = '';
  /** Timeouts since the last answer. */
  private timeouts = 0;

  constructor(
    readonly vcenter: string,
    private readonly log: Logger,
  ) {}

  get state(): VcenterState {
    return this.current;
  }

  get isDown(): boolean {
    return this.current === 'down';
  }

  /** Why it is down ('' unless down), for messages. */
  get reason(): string {
    return this.why;
  }

  /** Feeds one request outcome. A fault is an answer but not proof of a usable session, so it changes nothing. */
  observe(event: RequestEvent): void {
    if (event.outcome === 'ok') this.up();
    else if (event.outcome === 'error' && event.errorKind === 'connection') this.down(`${event.method}: connection failed`);
    else if (event.outcome === 'error' && event.errorKind === 'timeout') this.timedOut(`${event.method}: no answer within the request timeout`);
  }

  /** A request or Probe got no answer in time: down when the one before also went unanswered. */
  timedOut(reason: string): void {
    if (++this.timeouts >= TIMEOUTS_FOR_DOWN) this.down(`${reason} (${this.timeouts} in a row)`);
  }

  up(): void {
    this.timeouts = 0;
    if (this.current === 'up') return;
    if (this.current === 'down') this.log.info({ vcenter: this.vcenter, wasDown: this.why }, `vCenter ${this.vcenter} answers again`);
    this.current = 'up';
    this.why = '';
  }

  down(reason: string): void {
    if (this.current !== 'down') {
      this.log.warn(
        { vcenter: this.vcenter, reason },
        `vCenter ${this.vcenter} is down: operations that need it fail with UNAVAILABLE, the others go on`,
      );
    }
    this.current = 'down';
    this.why = reason;
  }
}

/** `vsphere_csi_vcenter_up{vcenter}`: 1 while the vCenter answers, 0 while it is down (absent until first contact). */
export function registerVcenterHealthMetric(registry: Registry, health: readonly VcenterHealth[]): void {
  new Gauge<'vcenter'>({
    name: 'vsphere_csi_vcenter_up',
    help: 'Whether each configured vCenter answers (1) or is down (0), from the latest request outcome or Probe',
    labelNames: ['vcenter'],
    registers: [registry],
    collect() {
      this.reset();
      for (const h of health) if (h.state !== 'unknown') this.set({ vcenter: h.vcenter }, h.state === 'up' ? 1 : 0);
    },
  });
}
