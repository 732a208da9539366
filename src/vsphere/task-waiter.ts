/**
 * One task waiter per vCenter. A dedicated PropertyCollector holds one filter
 * over TaskManager.recentTask (info.state/result/error of every recent task),
 * and a single WaitForUpdatesEx long-poll loop, running only while someone
 * waits, resolves every caller's promise from the same update stream. No
 * per-task polling and no per-task filter.
 *
 * vCenter answers a task-starting call before the task runs, so there is
 * nothing to read right after the call: the waiter does not pre-check with
 * RetrievePropertiesEx (which only paid off on govmomi 0.24.2's simulator,
 * whose CNS tasks finish before it replies). A result reaches its caller with
 * the first property-collector update that reports it.
 *
 * Safety nets for vCenters whose recentTask list is full: a task that leaves
 * the filter before it finishes is read directly right after the update that
 * reported it, and a task no update has mentioned for stragglerCheckMs (5 s)
 * is read directly once.
 */
import type { Logger } from 'pino';
import type { CallOptions, MoRef, TaskOutcome, TaskWaiter, XmlValue } from './api.js';
import { isFault, VsphereConnectionError, VsphereFault, VsphereTimeoutError } from './faults.js';
import { all, childText, one, text, toMoRef } from './soap/decode.js';
import { faultFromValue } from './soap/decode.js';
import { moref, obj } from './soap/envelope.js';
import { filterSpec, objectSpec, propertySpec, traversal, type PropertyReader } from './property-collector.js';
import type { VimSession } from './session.js';
import { TaskListView } from './task-list-view.js';

/**
 * What the filters watch. Not info.state: a task's queued → running step then
 * costs no update (and no long-poll round trip); completion sets completeTime
 * together with the result or the error, in one change of the task.
 */
const WATCHED_PATHS = ['info.completeTime', 'info.result', 'info.error', 'info.descriptionId'];
/** What a direct read takes (the safety nets), where the state is what tells a running task from a finished one. */
const READ_PATHS = ['info.state', ...WATCHED_PATHS];
/**
 * Task infos nobody waited for yet (a task can finish, and its update arrive,
 * between the reply that named it and the caller's wait()): at most this
 * many, each for at most UNCLAIMED_TTL_MS. An info that settled its waiters is
 * dropped at once. Before, 2,000 infos with their results stayed (3.5 MiB of
 * the controller's 26 MiB live heap after 2,000 volume cycles).
 */
export const REMEMBER_UNCLAIMED = 500;
export const UNCLAIMED_TTL_MS = 60_000;
/**
 * Ids (only) of tasks settled lately: a later update of one (the same change
 * reported by both filters, or as "enter" and again as "modify") is not
 * taken for a new unclaimed task.
 */
const REMEMBER_SETTLED_IDS = 1000;
const WAIT_SECONDS = 30;
const STRAGGLER_CHECK_MS = 5000;
/** How long past its maxWaitSeconds a WaitForUpdatesEx may stay unanswered before the poll is given up. */
const POLL_MARGIN_SECONDS = 15;
/**
 * Awaited tasks in flight beyond which new ones also go into the ListView
 * filter: half of vCenter's 200-entry recentTask. recentTask is a window of
 * the last 200 tasks of everyone: when hundreds are started at once it turns
 * over faster than one long-poll round trip, and a task can come and go
 * unseen. Below this a create costs no extra request (measured: with 16,
 * steady concurrency 32 cost a ModifyListView for every second create).
 */
const LIST_VIEW_AFTER = 100;

interface TaskInfo {
  state?: string;
  /** info.completeTime is set: the task ended (its error, if any, says how). */
  completed?: boolean;
  result?: XmlValue;
  error?: XmlValue;
  name?: string;
  /** When an update last named this task (for the age bound of unclaimed infos). */
  seenAt: number;
}

interface Waiter {
  resolve(outcome: TaskOutcome): void;
  reject(err: Error): void;
}

export class SharedTaskWaiter implements TaskWaiter {
  private readonly waiters = new Map<string, Set<Waiter>>();
  /** When each awaited task was first registered, to spot tasks the recentTask filter never shows. */
  private readonly registeredAt = new Map<string, number>();
  /** Tasks that left the filter (fell off recentTask) before finishing: read directly. */
  private readonly stragglers = new Set<string>();
  /** Stragglers read directly and still running: no update will report them. */
  private readonly detached = new Set<string>();
  private lastStragglerCheck = 0;
  private readonly infos = new Map<string, TaskInfo>();
  private readonly settledIds = new Set<string>();
  /**
   * Session generation the remembered infos belong to. Task ids are only
   * unique within one vCenter lifetime: a restarted vCenter hands out
   * task-1, task-2... again, so results remembered from an earlier session
   * must never answer for a new task with the same id.
   */
  private infosGeneration: number | undefined;
  private loopRunning = false;
  private collector?: { pc: MoRef; generation: number; version: string };
  private building?: Promise<{ pc: MoRef; generation: number; version: string }>;
  private readonly loopAbort = new AbortController();
  private closed = false;
  private readonly listView: TaskListView;

  constructor(
    private readonly session: VimSession,
    private readonly reader: PropertyReader,
    private readonly logger: Logger,
    private readonly stragglerCheckMs = STRAGGLER_CHECK_MS,
  ) {
    this.listView = new TaskListView(session, async () => (await this.ensureCollector()).pc, WATCHED_PATHS, this.loopAbort.signal, (err) => {
      if (!this.closed) this.logger.warn({ err: (err as Error).message }, 'could not add tasks to the task ListView; relying on TaskManager.recentTask');
    });
  }

  pending(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }

  /** Task infos held (awaited tasks seen in an update, and unclaimed ones within their bounds). */
  remembered(): number {
    return this.infos.size;
  }

  wait(task: MoRef, options: CallOptions = {}): Promise<TaskOutcome> {
    if (this.closed) return Promise.reject(new VsphereConnectionError('task waiter is closed'));
    const generation = this.session.currentGeneration();
    if (generation !== this.infosGeneration) {
      this.infos.clear();
      this.settledIds.clear();
      this.infosGeneration = generation;
    }
    const known = this.infos.get(task.value);
    if (known && isDone(known)) {
      this.forgetSettled(task.value);
      return settleNow(task, known, this.session.host);
    }
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
      // Also before the first collector exists: tasks created while it is being built may leave recentTask before its first update.
      if (this.waiters.size > LIST_VIEW_AFTER || !this.collector) this.listView.add(task.value);
      this.ensureLoop();
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
        const maxWait = this.maxWaitSeconds();
        // The poll's own deadline: vCenter answers by maxWaitSeconds, so a poll still open well after
        // that is a dead connection or a collector the server lost; it is then rebuilt, and the
        // stale-task net below reads what it would have reported.
        const pollDeadline = AbortSignal.any([this.loopAbort.signal, AbortSignal.timeout((maxWait + POLL_MARGIN_SECONDS) * 1000)]);
        const body = await this.session.call(
          'vim25',
          'WaitForUpdatesEx',
          { _this: moref(collector.pc), version: collector.version, options: obj('WaitOptions', { maxWaitSeconds: maxWait }) },
          { signal: pollDeadline },
        );
        const before = this.pending();
        this.applyUpdates(collector, one(body, 'returnval'));
        this.logger.debug({ awaited: before, settled: before - this.pending() }, 'task updates received');
        await this.readStragglers();
        resets = 0;
      } catch (err) {
        if (this.closed) return;
        const pollTimedOut = err instanceof VsphereTimeoutError && !this.loopAbort.signal.aborted;
        if ((pollTimedOut || isFault(err, 'ManagedObjectNotFound', 'NotAuthenticated', 'InvalidCollectorVersion', 'RequestCanceled')) && ++resets <= 3) {
          // The collector belonged to an expired session, was reset, or its poll went unanswered: build a new one.
          if (pollTimedOut) this.logger.warn({ vcenter: this.session.host }, 'WaitForUpdatesEx went unanswered past its maxWaitSeconds; rebuilding the task collector');
          this.collector = undefined;
          this.lastStragglerCheck = 0;
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

  /**
   * 30 s with nobody waiting; while tasks are awaited, the straggler check's
   * period (5 s), so the stale-task net runs even without traffic; 1 s while a
   * detached task needs re-reading.
   */
  private maxWaitSeconds(): number {
    if (this.detached.size > 0) return 1;
    if (this.registeredAt.size > 0) return Math.max(1, Math.ceil(this.stragglerCheckMs / 1000));
    return WAIT_SECONDS;
  }

  /** The loop and the ListView both need the collector: concurrent callers share one build. */
  private async ensureCollector(): Promise<{ pc: MoRef; generation: number; version: string }> {
    const { generation } = await this.session.ensure({ signal: this.loopAbort.signal });
    if (this.collector && this.collector.generation === generation) return this.collector;
    this.building ??= this.buildCollector(generation).finally(() => {
      this.building = undefined;
    });
    return this.building;
  }

  private async buildCollector(generation: number): Promise<{ pc: MoRef; generation: number; version: string }> {
    const content = await this.session.serviceContent();
    const created = await this.session.call('vim25', 'CreatePropertyCollector', { _this: moref(content.propertyCollector) }, { signal: this.loopAbort.signal });
    const pc = toMoRef(one(created, 'returnval'));
    if (!pc) throw new VsphereFault('InvalidResponse', 'CreatePropertyCollector returned no collector');
    const spec = filterSpec(
      [propertySpec('Task', WATCHED_PATHS)],
      [objectSpec(content.taskManager, true, [traversal('recentTask', 'TaskManager', 'recentTask')])],
    );
    await this.session.call('vim25', 'CreateFilter', { _this: moref(pc), spec, partialUpdates: false }, { signal: this.loopAbort.signal });
    this.collector = { pc, generation: this.session.currentGeneration() ?? generation, version: '' };
    this.listView.reset((t) => this.waiters.has(t));
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
          if (!this.waiters.has(ref.value)) {
            // Someone else's task (or one whose waiter gave up) that we will not hear of again: keep
            // its info only if it finished (its caller may still come), else it would stay forever.
            if (!isDone(this.infos.get(ref.value))) this.infos.delete(ref.value);
          } else if (!isDone(this.infos.get(ref.value)) && !this.listView.has(ref.value)) {
            this.logger.debug({ task: ref.value }, 'task left TaskManager.recentTask before it finished; reading it directly');
            this.stragglers.add(ref.value);
          }
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
    this.pruneUnclaimed();
  }

  private merge(value: string, props: Map<string, XmlValue>): void {
    if (this.settledIds.has(value) && !this.waiters.has(value)) return;
    const info = this.infos.get(value) ?? { seenAt: 0 };
    info.seenAt = Date.now();
    const state = props.get('info.state');
    if (state !== undefined) info.state = text(state);
    if (props.has('info.result')) info.result = props.get('info.result') || undefined;
    if (props.has('info.error')) info.error = props.get('info.error') || undefined;
    const completeTime = props.get('info.completeTime');
    if (completeTime !== undefined && text(completeTime)) info.completed = true;
    if (info.completed && info.state !== 'success' && info.state !== 'error') info.state = info.error ? 'error' : 'success';
    const name = props.get('info.descriptionId');
    if (name !== undefined) info.name = text(name);
    // Re-inserted so the map stays in last-seen order: pruning walks it oldest first.
    this.infos.delete(value);
    this.infos.set(value, info);
    if (isDone(info) && this.settle(value, info)) this.forgetSettled(value);
  }

  private forgetSettled(value: string): void {
    this.infos.delete(value);
    this.settledIds.add(value);
    if (this.settledIds.size > REMEMBER_SETTLED_IDS) this.settledIds.delete(this.settledIds.values().next().value!);
  }

  /**
   * Drops infos no waiter holds beyond the bounds: older than
   * UNCLAIMED_TTL_MS, or more than REMEMBER_UNCLAIMED of them (oldest first).
   * Infos of awaited tasks are never dropped (maxWaitSeconds and the straggler
   * check read them).
   */
  private pruneUnclaimed(): void {
    const now = Date.now();
    let unclaimed = 0;
    if (this.infos.size > REMEMBER_UNCLAIMED) for (const k of this.infos.keys()) if (!this.waiters.has(k)) unclaimed++;
    for (const [k, v] of this.infos) {
      if (unclaimed <= REMEMBER_UNCLAIMED && now - v.seenAt < UNCLAIMED_TTL_MS) break;
      if (this.waiters.has(k)) continue;
      this.infos.delete(k);
      unclaimed--;
    }
  }

  /**
   * Safety net for a busy vCenter: recentTask is bounded, so a task can leave
   * the filter before it finishes (or never enter it), and an update can be
   * lost. Such tasks are read directly, all in one request: right after the
   * update that reported the leave, or once stragglerCheckMs (5 s) passed
   * without any update naming them. One still running stays "detached" and is read again after every
   * update; while any is detached the long poll returns within a second.
   */
  private async readStragglers(): Promise<void> {
    const now = Date.now();
    if (now - this.lastStragglerCheck >= this.stragglerCheckMs) {
      this.lastStragglerCheck = now;
      // Never named by an update, or named but silent for as long (an update lost between a new
      // collector's first read and its first wait, or a long task): read directly, in one request.
      for (const [value, at] of this.registeredAt) {
        const info = this.infos.get(value);
        if (now - at >= this.stragglerCheckMs && (!info || now - info.seenAt >= this.stragglerCheckMs)) this.stragglers.add(value);
      }
    }
    const values = [...new Set([...this.stragglers, ...this.detached])].filter((v) => this.waiters.has(v));
    this.stragglers.clear();
    this.detached.clear();
    if (values.length === 0) return;
    const contents = await this.reader.objects('Task', values.map((value) => ({ type: 'Task', value })), READ_PATHS, { signal: this.loopAbort.signal });
    for (const c of contents) this.merge(c.ref.value, c.props);
    for (const value of values) {
      if (!this.infos.has(value)) this.settle(value, { state: 'missing', seenAt: now });
      else if (this.waiters.has(value)) this.detached.add(value);
    }
  }

  /** Resolves or rejects the task's waiters; false when it had none (its info then waits for a caller). */
  private settle(value: string, info: TaskInfo): boolean {
    const set = this.waiters.get(value);
    this.registeredAt.delete(value);
    this.listView.remove(value);
    if (!set) return false;
    this.waiters.delete(value);
    const task = { type: 'Task', value };
    for (const w of set) {
      if (info.state === 'success') w.resolve({ task, state: 'success', result: info.result });
      else if (info.state === 'missing') w.reject(new VsphereFault('ManagedObjectNotFound', `task ${value} does not exist on vCenter`, { obj: task, vcenter: this.session.host }));
      else w.reject(taskFault(value, info, this.session.host));
    }
    return true;
  }
}

function isDone(info: TaskInfo | undefined): boolean {
  if (!info) return false;
  return info.state === 'success' || info.state === 'error' || info.completed === true;
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
