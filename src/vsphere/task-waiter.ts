/**
 * One task waiter per vCenter. A dedicated PropertyCollector holds one filter
 * over TaskManager.recentTask (info.state/result/error of every recent task),
 * and a single WaitForUpdatesEx long-poll loop, running only while someone
 * waits, resolves every caller's promise from the same update stream. No
 * per-task polling and no per-task filter.
 *
 * Fast path: tasks registered in the same tick are first read together with
 * one RetrievePropertiesEx; tasks already finished (common with quick CNS
 * operations, always with the simulator) resolve without waiting for the next
 * update batch. When most pre-checks find tasks still running (a real vCenter
 * under load), the pre-check switches itself off and only samples.
 */
import type { Logger } from 'pino';
import type { CallOptions, MoRef, TaskOutcome, TaskWaiter, XmlValue } from './api.js';
import { isFault, VsphereConnectionError, VsphereFault, VsphereTimeoutError } from './faults.js';
import { all, childText, one, text, toMoRef } from './soap/decode.js';
import { faultFromValue } from './soap/decode.js';
import { moref, obj } from './soap/envelope.js';
import { filterSpec, objectSpec, propertySpec, traversal, type PropertyReader } from './property-collector.js';
import type { VimSession } from './session.js';

const TASK_PATHS = ['info.state', 'info.result', 'info.error', 'info.descriptionId'];
const REMEMBER_COMPLETED = 2000;
const WAIT_SECONDS = 30;
const STRAGGLER_CHECK_MS = 5000;

interface TaskInfo {
  state?: string;
  result?: XmlValue;
  error?: XmlValue;
  name?: string;
}

interface Waiter {
  resolve(outcome: TaskOutcome): void;
  reject(err: Error): void;
}

export type PrecheckMode = 'auto' | 'always' | 'never';

export class SharedTaskWaiter implements TaskWaiter {
  private readonly waiters = new Map<string, Set<Waiter>>();
  /** When each awaited task was first registered, to spot tasks the recentTask filter never shows. */
  private readonly registeredAt = new Map<string, number>();
  /** Tasks that left the filter (fell off recentTask) before finishing: read directly. */
  private readonly stragglers = new Set<string>();
  private lastStragglerCheck = 0;
  private readonly infos = new Map<string, TaskInfo>();
  /**
   * Session generation the remembered infos belong to. Task ids are only
   * unique within one vCenter lifetime: a restarted vCenter hands out
   * task-1, task-2... again, so results remembered from an earlier session
   * must never answer for a new task with the same id.
   */
  private infosGeneration: number | undefined;
  private readonly toCheck = new Set<string>();
  private checkScheduled = false;
  private loopRunning = false;
  private collector?: { pc: MoRef; generation: number; version: string };
  private readonly loopAbort = new AbortController();
  private closed = false;
  private precheckHits = 0;
  private precheckTotal = 0;
  private waitsSincePrecheck = 0;

  constructor(
    private readonly session: VimSession,
    private readonly reader: PropertyReader,
    private readonly logger: Logger,
    private readonly precheck: PrecheckMode = 'auto',
    private readonly stragglerCheckMs = STRAGGLER_CHECK_MS,
  ) {}

  pending(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }

  wait(task: MoRef, options: CallOptions = {}): Promise<TaskOutcome> {
    if (this.closed) return Promise.reject(new VsphereConnectionError('task waiter is closed'));
    const generation = this.session.currentGeneration();
    if (generation !== this.infosGeneration) {
      this.infos.clear();
      this.infosGeneration = generation;
    }
    const known = this.infos.get(task.value);
    if (known && isDone(known)) return settleNow(task, known, this.session.host);
    return new Promise<TaskOutcome>((resolve, reject) => {
      const signal = options.signal;
      const onAbort = (): void => {
        const set = this.waiters.get(task.value);
        set?.delete(waiter);
        if (set?.size === 0) {
          // Nobody waits for this task any more: let the loop stop when idle.
          this.waiters.delete(task.value);
          this.registeredAt.delete(task.value);
        }
        reject(new VsphereTimeoutError(`task ${task.value}: deadline passed while waiting for vCenter to finish it`, { method: 'WaitForUpdatesEx' }));
      };
      const waiter: Waiter = {
        resolve: (o) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(o);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      let set = this.waiters.get(task.value);
      if (!set) this.waiters.set(task.value, (set = new Set()));
      set.add(waiter);
      if (!this.registeredAt.has(task.value)) this.registeredAt.set(task.value, Date.now());
      if (this.shouldPrecheck()) {
        this.toCheck.add(task.value);
        if (!this.checkScheduled) {
          this.checkScheduled = true;
          // Coalesce all registrations of this tick into one read.
          setImmediate(() => void this.runPrecheck());
        }
      } else {
        this.ensureLoop();
      }
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.loopAbort.abort();
    const err = new VsphereConnectionError('vCenter client closed while waiting for a task');
    for (const set of this.waiters.values()) for (const w of set) w.reject(err);
    this.waiters.clear();
    this.registeredAt.clear();
  }

  private shouldPrecheck(): boolean {
    if (this.precheck !== 'auto') return this.precheck === 'always';
    if (this.precheckTotal < 10 || this.precheckHits * 2 >= this.precheckTotal) return true;
    // Mostly misses: sample one wait in 20 to notice when tasks get fast again.
    return ++this.waitsSincePrecheck % 20 === 0;
  }

  private async runPrecheck(): Promise<void> {
    this.checkScheduled = false;
    const values = [...this.toCheck].filter((v) => this.waiters.has(v));
    this.toCheck.clear();
    if (values.length === 0) return;
    try {
      const contents = await this.reader.objects('Task', values.map((value) => ({ type: 'Task', value })), TASK_PATHS, {
        signal: this.loopAbort.signal,
      });
      for (const c of contents) this.merge(c.ref.value, c.props);
      for (const value of values) {
        const info = this.infos.get(value);
        const done = info !== undefined && isDone(info);
        if (this.precheck === 'auto') {
          this.precheckTotal++;
          if (done) this.precheckHits++;
          if (this.precheckTotal > 100) {
            this.precheckTotal /= 2;
            this.precheckHits /= 2;
          }
        }
        if (!info && this.waiters.has(value)) {
          this.settle(value, { error: undefined, state: 'missing' });
        }
      }
    } catch (err) {
      this.logger.debug({ err: (err as Error).message }, 'task pre-check failed; waiting on the property collector');
    }
    // Only tasks of this batch that are still running need the collector; later registrations have their own pre-check.
    if (values.some((v) => this.waiters.has(v) && !this.toCheck.has(v))) this.ensureLoop();
  }

  private ensureLoop(): void {
    if (this.loopRunning || this.closed) return;
    this.loopRunning = true;
    void this.loop().finally(() => {
      this.loopRunning = false;
      if (this.waiters.size > 0 && !this.closed) this.ensureLoop();
    });
  }

  private async loop(): Promise<void> {
    let resets = 0;
    while (this.waiters.size > 0 && !this.closed) {
      try {
        const collector = await this.ensureCollector();
        const body = await this.session.call(
          'vim25',
          'WaitForUpdatesEx',
          { _this: moref(collector.pc), version: collector.version, options: obj('WaitOptions', { maxWaitSeconds: WAIT_SECONDS }) },
          { signal: this.loopAbort.signal },
        );
        this.applyUpdates(collector, one(body, 'returnval'));
        await this.readStragglers();
        resets = 0;
      } catch (err) {
        if (this.closed) return;
        if (isFault(err, 'ManagedObjectNotFound', 'NotAuthenticated', 'InvalidCollectorVersion', 'RequestCanceled') && ++resets <= 3) {
          // The collector belonged to an expired session (or was reset): build a new one.
          this.collector = undefined;
          continue;
        }
        // vCenter unreachable: fail the waits now rather than leave them hanging until their deadlines.
        const failure = err instanceof Error ? err : new Error(String(err));
        for (const set of this.waiters.values()) for (const w of set) w.reject(failure);
        this.waiters.clear();
        this.registeredAt.clear();
        return;
      }
    }
  }

  private async ensureCollector(): Promise<{ pc: MoRef; generation: number; version: string }> {
    const { generation } = await this.session.ensure({ signal: this.loopAbort.signal });
    if (this.collector && this.collector.generation === generation) return this.collector;
    const content = await this.session.serviceContent();
    const created = await this.session.call('vim25', 'CreatePropertyCollector', { _this: moref(content.propertyCollector) }, { signal: this.loopAbort.signal });
    const pc = toMoRef(one(created, 'returnval'));
    if (!pc) throw new VsphereFault('InvalidResponse', 'CreatePropertyCollector returned no collector');
    const spec = filterSpec(
      [propertySpec('Task', TASK_PATHS)],
      [objectSpec(content.taskManager, true, [traversal('recentTask', 'TaskManager', 'recentTask')])],
    );
    await this.session.call('vim25', 'CreateFilter', { _this: moref(pc), spec, partialUpdates: false }, { signal: this.loopAbort.signal });
    this.collector = { pc, generation: this.session.currentGeneration() ?? generation, version: '' };
    return this.collector;
  }

  private applyUpdates(collector: { version: string }, updateSet: XmlValue | undefined): void {
    if (updateSet === undefined) return; // MaxWaitSeconds passed without changes
    const version = childText(updateSet, 'version');
    if (version !== undefined) collector.version = version;
    for (const filterUpdate of all(updateSet, 'filterSet')) {
      for (const objectUpdate of all(filterUpdate, 'objectSet')) {
        const ref = toMoRef(one(objectUpdate, 'obj'));
        if (!ref || ref.type !== 'Task') continue;
        if (childText(objectUpdate, 'kind') === 'leave') {
          if (this.waiters.has(ref.value)) this.stragglers.add(ref.value);
          continue;
        }
        const props = new Map<string, XmlValue>();
        for (const change of all(objectUpdate, 'changeSet')) {
          const name = childText(change, 'name');
          const val = one(change, 'val');
          if (name) props.set(name, val ?? '');
        }
        this.merge(ref.value, props);
      }
    }
  }

  private merge(value: string, props: Map<string, XmlValue>): void {
    const info = this.infos.get(value) ?? {};
    const state = props.get('info.state');
    if (state !== undefined) info.state = text(state);
    if (props.has('info.result')) info.result = props.get('info.result') || undefined;
    if (props.has('info.error')) info.error = props.get('info.error') || undefined;
    const name = props.get('info.descriptionId');
    if (name !== undefined) info.name = text(name);
    this.infos.delete(value);
    this.infos.set(value, info);
    if (this.infos.size > REMEMBER_COMPLETED) {
      for (const [k, v] of this.infos) {
        if (this.infos.size <= REMEMBER_COMPLETED) break;
        if (isDone(v) && !this.waiters.has(k)) this.infos.delete(k);
      }
    }
    if (isDone(info)) this.settle(value, info);
  }

  /**
   * Safety net for a busy vCenter: recentTask is bounded, so a task can leave
   * the filter before it finishes (or never enter it). Such tasks are read
   * directly, all in one request, at most every stragglerCheckMs (5 s).
   */
  private async readStragglers(): Promise<void> {
    const now = Date.now();
    if (now - this.lastStragglerCheck < this.stragglerCheckMs) return;
    for (const [value, at] of this.registeredAt) {
      if (now - at >= this.stragglerCheckMs && !this.infos.has(value)) this.stragglers.add(value);
    }
    const values = [...this.stragglers].filter((v) => this.waiters.has(v));
    this.stragglers.clear();
    if (values.length === 0) return;
    this.lastStragglerCheck = now;
    const contents = await this.reader.objects('Task', values.map((value) => ({ type: 'Task', value })), TASK_PATHS, { signal: this.loopAbort.signal });
    for (const c of contents) this.merge(c.ref.value, c.props);
    for (const value of values) if (!this.infos.has(value)) this.settle(value, { state: 'missing' });
  }

  private settle(value: string, info: TaskInfo): void {
    const set = this.waiters.get(value);
    this.registeredAt.delete(value);
    if (!set) return;
    this.waiters.delete(value);
    const task = { type: 'Task', value };
    for (const w of set) {
      if (info.state === 'success') w.resolve({ task, state: 'success', result: info.result });
      else if (info.state === 'missing') w.reject(new VsphereFault('ManagedObjectNotFound', `task ${value} does not exist on vCenter`, { obj: task, vcenter: this.session.host }));
      else w.reject(taskFault(value, info, this.session.host));
    }
  }
}

function isDone(info: TaskInfo): boolean {
  return info.state === 'success' || info.state === 'error';
}

function taskFault(value: string, info: TaskInfo, vcenter: string): VsphereFault {
  const message = childText(info.error, 'localizedMessage') ?? '';
  const fault = faultFromValue(one(info.error, 'fault'), undefined, message, info.name ?? `task ${value}`);
  fault.details.vcenter = vcenter;
  return fault;
}

function settleNow(task: MoRef, info: TaskInfo, vcenter: string): Promise<TaskOutcome> {
  return info.state === 'success' ? Promise.resolve({ task, state: 'success', result: info.result }) : Promise.reject(taskFault(task.value, info, vcenter));
}
