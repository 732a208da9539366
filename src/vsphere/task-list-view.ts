/**
 * The task waiter's second filter: a ListView of task morefs on the waiter's
 * own property collector. TaskManager.recentTask (the first filter, free of
 * extra requests) holds a bounded number of tasks (200 on vCenter, shared
 * with every other client), so a task created while hundreds are in flight
 * can enter and leave it between two updates and never be reported. Tasks
 * registered while many are already awaited are therefore also put into this
 * view: their updates arrive on the same WaitForUpdatesEx stream.
 *
 * Requests: one CreateListView + CreateFilter the first time, then one
 * ModifyListView per tick carrying every task added in that tick and the
 * finished ones to drop.
 */
import type { MoRef } from './api.js';
import { all, toMoRef, one } from './soap/decode.js';
import { moref } from './soap/envelope.js';
import { filterSpec, objectSpec, propertySpec, traversal } from './property-collector.js';
import type { VimSession } from './session.js';

const MAX_PENDING_REMOVALS = 100;

export class TaskListView {
  private view?: { ref: MoRef; pc: MoRef };
  private readonly inView = new Set<string>();
  private readonly toAdd = new Set<string>();
  private readonly toRemove = new Set<string>();
  private flushing?: Promise<void>;
  private scheduled = false;

  constructor(
    private readonly session: VimSession,
    /** The waiter's property collector (created on demand). */
    private readonly collector: () => Promise<MoRef>,
    private readonly taskPaths: string[],
    private readonly signal: AbortSignal,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Whether updates of this task arrive through the view. */
  has(task: string): boolean {
    return this.inView.has(task) && !this.toRemove.has(task);
  }

  add(task: string): void {
    if (this.inView.has(task)) return;
    this.toRemove.delete(task);
    this.toAdd.add(task);
    this.schedule();
  }

  /** A finished task leaves the view with the next change (no request of its own). */
  remove(task: string): void {
    if (this.toAdd.delete(task)) return;
    if (!this.inView.has(task)) return;
    this.toRemove.add(task);
    // Normally they ride along with the next add; a long quiet spell must not keep hundreds in the view.
    if (this.toRemove.size >= MAX_PENDING_REMOVALS) this.schedule();
  }

  /** The collector was rebuilt (new session): the view died with it; re-add what is still awaited. */
  reset(stillAwaited: (task: string) => boolean): void {
    const keep = [...this.inView, ...this.toAdd].filter(stillAwaited);
    this.view = undefined;
    this.inView.clear();
    this.toRemove.clear();
    this.toAdd.clear();
    for (const t of keep) this.add(t);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flushing = (this.flushing ?? Promise.resolve()).then(() => this.flush()).catch(this.onError);
    });
  }

  /** Sends the pending changes: CreateListView + CreateFilter the first time, ModifyListView after. */
  private async flush(): Promise<void> {
    if (this.toAdd.size === 0 && this.toRemove.size < MAX_PENDING_REMOVALS) return;
    const pc = await this.collector();
    const add = [...this.toAdd];
    this.toAdd.clear();
    const options = { signal: this.signal };
    if (!this.view || this.view.pc.value !== pc.value) {
      if (add.length === 0) return;
      const content = await this.session.serviceContent();
      const created = await this.session.call(
        'vim25',
        'CreateListView',
        { _this: moref(content.viewManager), obj: add.map((value) => moref({ type: 'Task', value })) },
        options,
      );
      const ref = toMoRef(one(created, 'returnval'));
      if (!ref) throw new Error('CreateListView returned no view');
      const spec = filterSpec([propertySpec('Task', this.taskPaths)], [objectSpec(ref, true, [traversal('tasksInView', 'ListView', 'view')])]);
      await this.session.call('vim25', 'CreateFilter', { _this: moref(pc), spec, partialUpdates: false }, options);
      this.view = { ref, pc };
      this.inView.clear();
    } else {
      const remove = [...this.toRemove];
      this.toRemove.clear();
      const body = await this.session.call(
        'vim25',
        'ModifyListView',
        { _this: moref(this.view.ref), add: add.map((value) => moref({ type: 'Task', value })), remove: remove.map((value) => moref({ type: 'Task', value })) },
        options,
      );
      for (const r of remove) this.inView.delete(r);
      // Tasks vCenter no longer knows are answered as unresolvable: the waiter reads them directly.
      for (const gone of all(body, 'returnval')) {
        const ref = toMoRef(gone);
        if (ref) add.splice(add.indexOf(ref.value), 1);
      }
    }
    for (const t of add) this.inView.add(t);
  }
}
