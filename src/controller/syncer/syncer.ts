/**
 * The metadata syncer of controller mode. Every replica runs the CSI RPCs;
 * exactly one runs the syncer, elected through a coordination.k8s.io Lease
 * (src/kube/leader-election.ts; the reference's Lease name vsphere-syncer).
 * Each leadership term:
 *   informers on PersistentVolumes, claims and Pods (all namespaces) feed a
 *   ClusterView; once all three have listed, changes flow to the updater
 *   (coalesced CnsUpdateVolumeMetadata), a full sync runs, and then one runs
 *   every interval, with health passes in between.
 * The term ends with leadership (lost or released): informers and timers
 * stop, and the next term starts from scratch. PublishHealth, which
 * annotates a claim right after its volume is published, runs on every
 * replica.
 */
import { CoreV1Api, type KubeConfig, type V1PersistentVolume, type V1PersistentVolumeClaim, type V1Pod } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import { EventRecorder } from '../../kube/events.js';
import { startInformer, type Informer } from '../../kube/informer.js';
import { startLeaderElection, type LeaderElector } from '../../kube/leader-election.js';
import type { Logger } from '../../log.js';
import type { ControllerContext } from '../context.js';
import { ClusterView } from './cluster-view.js';
import { FullSync } from './full-sync.js';
import { HealthAnnotator, PublishHealth } from './health.js';
import { SyncerMetrics } from './metrics.js';
import type { SyncerSettings } from './settings.js';
import { StaticRegistrar, type EventSink } from './static.js';
import { MetadataUpdater } from './updater.js';

export interface MetadataSyncerOptions {
  ctx: ControllerContext;
  kubeConfig: KubeConfig;
  settings: SyncerSettings;
  registry: Registry;
  log: Logger;
  /** Lease holder identity (default `<POD_NAME or hostname>_<uuid>`). */
  identity?: string;
  /** Informers ask the server to end each watch after this long (tests). */
  watchTimeoutSeconds?: number;
}

/** One leadership term's state and work. */
export class SyncTerm {
  readonly view: ClusterView;
  readonly updater: MetadataUpdater;
  readonly fullSync: FullSync;
  /** Settles when the informers have listed and the first full sync ran. */
  readonly ready: Promise<void>;
  private readonly informers: Pick<Informer<unknown>, 'synced' | 'stop'>[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private syncing: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly options: MetadataSyncerOptions,
    core: CoreV1Api,
    metrics: SyncerMetrics,
    events: EventSink,
    annotator: HealthAnnotator,
  ) {
    const { ctx, settings, log } = options;
    this.view = new ClusterView(ctx.clusterId);
    const deps = { ctx, view: this.view, metrics, settings, log };
    const registrar = new StaticRegistrar(deps, events);
    this.updater = new MetadataUpdater(deps, registrar);
    this.fullSync = new FullSync(deps, this.updater, registrar, annotator, events);
    const seen = (handles: string[]): void => this.updater.mark(handles, Date.now());
    const view = this.view;
    const tuning = { kubeConfig: options.kubeConfig, log, watchTimeoutSeconds: options.watchTimeoutSeconds };
    this.informers.push(
      startInformer<V1PersistentVolume>({
        ...tuning,
        path: '/api/v1/persistentvolumes',
        kind: 'persistentvolume',
        list: (labelSelector, o) => core.listPersistentVolume({ labelSelector }, o),
        onAdd: (pv) => seen(view.setPv(pv)),
        onUpdate: (pv) => seen(view.setPv(pv)),
        onDelete: (pv) => seen(view.removePv(pv)),
      }),
      startInformer<V1PersistentVolumeClaim>({
        ...tuning,
        path: '/api/v1/persistentvolumeclaims',
        kind: 'persistentvolumeclaim',
        list: (labelSelector, o) => core.listPersistentVolumeClaimForAllNamespaces({ labelSelector }, o),
        onAdd: (pvc) => seen(view.setClaim(pvc)),
        onUpdate: (pvc) => seen(view.setClaim(pvc)),
        onDelete: (pvc) => seen(view.removeClaim(pvc)),
      }),
      startInformer<V1Pod>({
        ...tuning,
        path: '/api/v1/pods',
        kind: 'pod',
        list: (labelSelector, o) => core.listPodForAllNamespaces({ labelSelector }, o),
        onAdd: (pod) => seen(view.setPod(pod)),
        onUpdate: (pod) => seen(view.setPod(pod)),
        onDelete: (pod) => seen(view.removePod(pod)),
      }),
    );
    this.ready = this.begin();
  }

  /** Runs a full sync (or health pass) after any running one. */
  sync(kind: 'full' | 'health'): Promise<unknown> {
    const next = this.syncing.then(() => (this.stopped ? undefined : this.fullSync.run(kind)));
    this.syncing = next.catch((err: unknown) => this.options.log.error({ err: (err as Error).message, kind }, 'sync failed'));
    return next;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await Promise.all(this.informers.map((i) => i.stop()));
    await this.updater.stop();
    await this.syncing;
  }

  private async begin(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.synced));
    if (this.stopped) return;
    this.updater.release();
    await this.sync('full');
    if (this.stopped) return;
    const { fullSyncIntervalMs, healthIntervalMs } = this.options.settings;
    this.timers.push(setInterval(() => void this.sync('full'), fullSyncIntervalMs));
    if (healthIntervalMs < fullSyncIntervalMs) this.timers.push(setInterval(() => void this.sync('health'), healthIntervalMs));
    for (const t of this.timers) t.unref();
  }
}

export class MetadataSyncer {
  readonly metrics: SyncerMetrics;
  readonly publishHealth: PublishHealth;
  private readonly elector: LeaderElector;
  private current: SyncTerm | undefined;
  private ending: Promise<void> = Promise.resolve();
  private readonly core: CoreV1Api;
  private readonly events: EventRecorder;
  private readonly annotator: HealthAnnotator;

  constructor(private readonly options: MetadataSyncerOptions) {
    const { kubeConfig, settings, log, ctx } = options;
    this.metrics = new SyncerMetrics(options.registry);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.events = new EventRecorder({ core: this.core, component: 'vsphere-csi-syncer', host: process.env['POD_NAME'] || undefined, log, requestTimeoutMs: 30_000 });
    this.annotator = new HealthAnnotator(this.core, this.metrics, log);
    this.publishHealth = new PublishHealth(ctx, this.annotator, this.metrics, Math.min(settings.windowMs, 1000));
    const lease = settings.leaseDurationMs;
    this.elector = startLeaderElection({
      kubeConfig,
      namespace: settings.leaseNamespace,
      name: settings.leaseName,
      identity: options.identity,
      leaseDurationMs: lease,
      // client-go's ratios (15/10/2 s) scaled to the lease duration, as the CPI does.
      renewDeadlineMs: (lease * 2) / 3,
      retryPeriodMs: lease / 7.5,
      log,
      onStartedLeading: () => this.lead(),
      onStoppedLeading: () => void this.endTerm(),
    });
  }

  isLeader(): boolean {
    return this.elector.isLeader();
  }

  /** The running term (leader only). */
  term(): SyncTerm | undefined {
    return this.current;
  }

  async stop(): Promise<void> {
    await this.elector.stop();
    await this.endTerm();
  }

  private lead(): void {
    this.options.log.info({ lease: `${this.options.settings.leaseNamespace}/${this.options.settings.leaseName}` }, 'metadata syncer started (this replica leads)');
    this.metrics.leader.set(1);
    this.current = new SyncTerm(this.options, this.core, this.metrics, this.events, this.annotator);
  }

  /** Ends the running term; every caller waits for the same stop. */
  private endTerm(): Promise<void> {
    const term = this.current;
    this.current = undefined;
    this.metrics.leader.set(0);
    if (term) {
      this.ending = this.ending.then(async () => {
        await term.stop();
        this.options.log.info('metadata syncer stopped (leadership ended)');
      });
    }
    return this.ending;
  }
}
