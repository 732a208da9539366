/**
 * The per-vCenter snapshot name index CreateSnapshot uses to refuse a name
 * that another volume's snapshot has (ALREADY_EXISTS). CNS cannot filter
 * snapshots by description, so knowing every name takes a full paged read
 * of the vCenter's snapshots (one CnsQuerySnapshots task per 128); this
 * index makes that read once, then:
 *
 * - keeps itself current from this process's own changes: add() after a
 *   CreateSnapshot, remove() after a DeleteSnapshot or when a snapshot is
 *   found gone. Changes made while a read runs are replayed onto its result,
 *   so a refresh that started before them cannot lose them;
 * - is read again in full when older than the TTL (from the start of the read
 *   that built it), in the background: lookups answer from the current index
 *   and never wait, except for the very first build, which concurrent
 *   callers share;
 * - is dropped when a read fails (the next lookup rebuilds it, and waits).
 *
 * Memory: one entry per snapshot of the vCenter (the name, the volume and
 * snapshot ids, an id → name link): a few hundred bytes each, so 10,000
 * snapshots are a few MB.
 */
import type { CnsSnapshot } from '../vsphere/api.js';
import { formatSnapshotId } from './snapshot-id.js';
import type { VcenterContext } from './vcenters.js';

/** Where a snapshot of some name is. */
export interface NameEntry {
  volumeId: string;
  snapshotId: string;
}

export const DEFAULT_NAME_INDEX_TTL_MS = 5 * 60_000;

export interface NameIndexOptions {
  /** Every snapshot of the vCenter (a full paged read). */
  read: () => Promise<CnsSnapshot[]>;
  /** Age after which a lookup starts a background re-read. */
  ttlMs?: number;
  /** A background re-read failed (the index is dropped already). */
  onRefreshError?: (err: unknown) => void;
  now?: () => number;
}

type Change = { op: 'add'; name: string; entry: NameEntry } | { op: 'remove'; volumeId: string; snapshotId?: string };

export class SnapshotNameIndex {
  private names?: Map<string, NameEntry[]>;
  /** CSI snapshot id → name, to remove by id. */
  private readonly ids = new Map<string, string>();
  private builtAt = 0;
  private reading?: Promise<void>;
  /** Changes since the running read started, replayed onto its result. */
  private journal?: Change[];
  private readonly ttlMs: number;
  private readonly now: () => number;
  /** Full reads started (tests and figures). */
  reads = 0;

  constructor(private readonly options: NameIndexOptions) {
    this.ttlMs = options.ttlMs ?? DEFAULT_NAME_INDEX_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  /** Whether an index is there to answer (built and not dropped). */
  get built(): boolean {
    return this.names !== undefined;
  }

  /** Entries in the index (tests and figures). */
  get size(): number {
    return this.ids.size;
  }

  /**
   * The snapshots named `name`. Waits only when there is no index (the
   * first build, or after a failed read: shared by concurrent callers; its
   * error is theirs); an index past its TTL answers and starts a re-read.
   */
  async lookup(name: string): Promise<readonly NameEntry[]> {
    if (!this.names) {
      await this.load();
    } else if (!this.reading && this.now() - this.builtAt >= this.ttlMs) {
      this.load().catch((err: unknown) => this.options.onRefreshError?.(err));
    }
    return this.names?.get(name) ?? [];
  }

  /** Settles when no read runs (tests: a background re-read has ended). */
  async whenIdle(): Promise<void> {
    while (this.reading) await this.reading.catch(() => undefined);
  }

  /** A snapshot this process created, or found (idempotent). */
  add(name: string, volumeId: string, snapshotId: string): void {
    const entry = { volumeId, snapshotId };
    this.journal?.push({ op: 'add', name, entry });
    if (this.names) this.apply({ op: 'add', name, entry });
  }

  /** A snapshot deleted or found gone; without `snapshotId`, every snapshot of the volume. */
  remove(volumeId: string, snapshotId?: string): void {
    const change: Change = { op: 'remove', volumeId, snapshotId };
    this.journal?.push(change);
    if (this.names) this.apply(change);
  }

  /** Forgets the index; the next lookup reads again (and waits). */
  drop(): void {
    this.names = undefined;
    this.ids.clear();
  }

  private load(): Promise<void> {
    if (this.reading) return this.reading;
    const startedAt = this.now();
    const journal: Change[] = [];
    this.journal = journal;
    this.reads++;
    const p: Promise<void> = Promise.resolve()
      .then(() => this.options.read())
      .then(
        (list) => {
          this.names = new Map();
          this.ids.clear();
          for (const s of list) if (s.description) this.apply({ op: 'add', name: s.description, entry: { volumeId: s.volumeId, snapshotId: s.snapshotId } });
          for (const change of journal) this.apply(change);
          this.builtAt = startedAt;
        },
        (err: unknown) => {
          this.drop();
          throw err;
        },
      )
      .finally(() => {
        if (this.reading === p) {
          this.reading = undefined;
          this.journal = undefined;
        }
      });
    this.reading = p;
    return p;
  }

  private apply(change: Change): void {
    const names = this.names!;
    if (change.op === 'add') {
      const id = formatSnapshotId(change.entry.volumeId, change.entry.snapshotId);
      if (this.ids.has(id)) return;
      this.ids.set(id, change.name);
      const list = names.get(change.name);
      if (list) list.push(change.entry);
      else names.set(change.name, [change.entry]);
      return;
    }
    if (change.snapshotId !== undefined) {
      this.removeId(formatSnapshotId(change.volumeId, change.snapshotId));
      return;
    }
    const prefix = formatSnapshotId(change.volumeId, '');
    for (const id of [...this.ids.keys()]) if (id.startsWith(prefix)) this.removeId(id);
  }

  private removeId(id: string): void {
    const name = this.ids.get(id);
    if (name === undefined) return;
    this.ids.delete(id);
    const list = this.names!.get(name);
    if (!list) return;
    const rest = list.filter((e) => formatSnapshotId(e.volumeId, e.snapshotId) !== id);
    if (rest.length > 0) this.names!.set(name, rest);
    else this.names!.delete(name);
  }
}

/**
 * A controller's name indexes, one per vCenter (ControllerContext.snapshotNames):
 * the snapshot RPCs look names up and record their changes here, and restores
 * or lookups that find a snapshot or volume gone forget it here.
 */
export class SnapshotNames {
  private readonly indexes = new Map<VcenterContext, SnapshotNameIndex>();

  constructor(
    private readonly options: {
      read: (vc: VcenterContext) => Promise<CnsSnapshot[]>;
      ttlMs?: number;
      onRefreshError?: (vc: VcenterContext, err: unknown) => void;
    },
  ) {}

  /** The index of a vCenter, made on first use (built on its first lookup). */
  of(vc: VcenterContext): SnapshotNameIndex {
    let index = this.indexes.get(vc);
    if (!index) {
      index = new SnapshotNameIndex({
        read: () => this.options.read(vc),
        ttlMs: this.options.ttlMs,
        onRefreshError: (err) => this.options.onRefreshError?.(vc, err),
      });
      this.indexes.set(vc, index);
    }
    return index;
  }

  /** Full reads made so far, over every vCenter (tests and figures). */
  get reads(): number {
    let n = 0;
    for (const index of this.indexes.values()) n += index.reads;
    return n;
  }

  /** A snapshot deleted, or found gone. */
  forgetSnapshot(vc: VcenterContext, ref: NameEntry): void {
    this.indexes.get(vc)?.remove(ref.volumeId, ref.snapshotId);
  }

  /** A volume found gone: so are its snapshots, in whichever vCenter an index had them. */
  forgetVolume(volumeId: string): void {
    for (const index of this.indexes.values()) index.remove(volumeId);
  }
}
