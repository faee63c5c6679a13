/**
 * The LakeTable controller: an informer feeds a work queue; each key is reconciled by `reconcile`,
 * a thin function (fetch, deletion, finalizer, validation, credentials) around the shared
 * `reconcileTable` of lib/reconcile, the same code `lakehouse reconcile` runs. Each step returns
 * early; the pass ends with the time to come back (the next due maintenance), never polling.
 */
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig } from './kube.js';
import type { Logger } from 'pino';
import { isLakehouseError } from '../../lib/errors.js';
import { reconcileTable, type ActionReport, type TableReport } from '../../lib/reconcile/index.js';
import {
  APPROVE_PLAN_ANNOTATION,
  LAKETABLE_API_VERSION,
  LAKETABLE_KIND,
  parseLakeTable,
  type LakeTable,
  type StorageRoots,
} from '../../lib/spec/index.js';
import type { StorageOptions } from '../../lib/storage/index.js';
import { reasonOf } from './conditions.js';
import { storageOptionsFor } from './credentials.js';
import { cleanUpTable } from './deletion.js';
import { EventRecorder } from './events.js';
import { LakeTableInformer, errorText, type InformerEvent } from './informer.js';
import { CompactionJobs, type JobSettings } from './jobs.js';
import type { OperatorMetrics } from './metrics.js';
import { CONDITION, FINALIZER, GROUP, PLURAL, VERSION, splitKey } from './names.js';
import { WorkQueue, type HandlerResult } from './queue.js';
import { blocked, fromReport, orphansFromStatus, patchStatus, planMessage, planStatus } from './status.js';
import type { KubeLakeTable } from './types.js';

export interface ControllerOptions {
  readonly kubeConfig: KubeConfig;
  /** Zone roots per storage name, e.g. `{ default: { raw: 's3://acme-raw', curated: … } }`. */
  readonly storageRoots: StorageRoots;
  /** Storage options without secrets (region, endpoint, …); a Secret's keys are added per table. */
  readonly storageOptions?: StorageOptions;
  /** Watch one namespace; default all. */
  readonly namespace?: string;
  /** Tables reconciled at the same time. Default 4. */
  readonly concurrency?: number;
  /** Every table is reconciled again at least this often. Default 10 min. */
  readonly resyncMs?: number;
  /** Come back this soon when maintenance is still due after a pass. Default 30 s. */
  readonly dueRequeueMs?: number;
  /** Backoff of failed reconciles: first delay (default 1 s) and cap (default 5 min). */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Name of this process in Events. */
  readonly identity: string;
  /** Compactions above `jobs.thresholdBytes` run as Kubernetes Jobs (jobs.ts); undefined: all in-process. */
  readonly jobs?: JobSettings;
  readonly log: Logger;
  readonly metrics: OperatorMetrics;
  /** Peak memory (bytes) compaction may use (memory.ts: the container limit × the maintenance share); undefined: none. */
  readonly memoryBudget?: number;
  /** The table is listed for orphan files (the health's one expensive measure) at most this often. Default 1 h. */
  readonly healthListIntervalMs?: number;
}

const EVENT_REASON: Record<ActionReport['kind'], string> = {
  create: 'TableCreated',
  addColumns: 'SchemaEvolved',
  setProperties: 'PropertiesSet',
  compaction: 'Compacted',
  checkpoint: 'Checkpointed',
  vacuum: 'Vacuumed',
};

export class LakeTableController {
  readonly informer: LakeTableInformer;
  readonly queue: WorkQueue;
  private readonly objects: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly events: EventRecorder;
  private readonly log: Logger;
  /** The compaction Jobs, when configured. */
  readonly jobs: CompactionJobs | null;
  /** Reconciles that ran (any outcome), for tests and benchmarks. */
  reconcileCount = 0;

  constructor(private readonly options: ControllerOptions) {
    this.log = options.log;
    this.objects = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.events = new EventRecorder(this.core, this.log, options.identity);
    this.jobs = options.jobs
      ? new CompactionJobs(options.kubeConfig, {
          settings: options.jobs,
          storageOptions: options.storageOptions ?? {},
          namespace: options.namespace,
          events: this.events,
          log: this.log,
          onFinished: (key) => this.queue.add(key),
        })
      : null;
    this.queue = new WorkQueue({
      concurrency: options.concurrency ?? 4,
      baseDelayMs: options.baseDelayMs,
      maxDelayMs: options.maxDelayMs,
      handler: (key) => this.reconcile(key),
      onError: (key, err, retryInMs) =>
        this.log.warn({ table: key, err: errorText(err), retryInMs }, 'reconcile failed; retrying'),
      onDepth: (depth) => options.metrics.queueDepth.set(depth),
    });
    this.informer = new LakeTableInformer(options.kubeConfig, {
      namespace: options.namespace,
      resyncMs: options.resyncMs,
      log: this.log,
      onEvent: (event, key, table, previous) => this.onEvent(event, key, table, previous),
    });
  }

  /** Start watching; resolves once the cache is filled (every existing table is queued). */
  async start(): Promise<void> {
    // Jobs first: a table's first pass must see its running Jobs to adopt them.
    await this.jobs?.start();
    await this.informer.start();
  }

  /** Stop watching and taking work; waits for the reconciles in progress to finish. */
  async stop(): Promise<void> {
    this.informer.stop();
    this.jobs?.stop();
    await this.queue.shutdown();
  }

  private onEvent(event: InformerEvent, key: string, table: KubeLakeTable, previous?: KubeLakeTable): void {
    if (event === 'deleted') {
      this.queue.forget(key);
      const { namespace, name } = splitKey(key);
      this.options.metrics.forgetTable(namespace, name);
      return;
    }
    // Our own status and finalizer writes change the resourceVersion only: no new work.
    if (event === 'modified' && previous && !specOrLifecycleChanged(previous, table)) return;
    this.queue.add(key);
  }

  /** One pass over `namespace/name`. Throws to be retried with backoff. */
  async reconcile(key: string): Promise<HandlerResult> {
    let table = this.informer.get(key);
    if (!table) return {};
    this.reconcileCount++;
    const { namespace, name } = splitKey(key);
    const log = this.log.child({ table: key });

    // 1. Deletion: clean up as the deletionPolicy says, then let the object go.
    if (table.metadata.deletionTimestamp) return this.finalize(table, log);

    // 2. Finalizer on first sight, so no deletion goes unnoticed.
    if (!table.metadata.finalizers?.includes(FINALIZER)) {
      const updated = await this.updateFinalizers(namespace, name, (f) =>
        f.includes(FINALIZER) ? null : [...f, FINALIZER],
      );
      if (!updated) return {};
      table = updated;
    }

    // 3. The spec as lib/spec reads it (the API server checked the schema and CEL rules; this adds
    //    the checks CEL cannot express). An invalid spec waits for the user to change it.
    let desired: LakeTable;
    try {
      desired = parseLakeTable(documentOf(table), `LakeTable ${key}`);
    } catch (err) {
      const message = errorText(err);
      this.options.metrics.reconciles.inc({ outcome: 'invalid' });
      const before = table.status?.conditions?.find((c) => c.type === CONDITION.ready);
      await patchStatus(this.objects, namespace, name, blocked('InvalidSpec', message));
      if (before?.reason !== 'InvalidSpec' || before.message !== message)
        await this.events.record(table, 'Warning', 'InvalidSpec', message);
      log.warn({ err: message }, 'invalid LakeTable spec');
      return {};
    }

    // 4. Credentials: workload identity, or the Secret the spec names, read now.
    let storageOptions: StorageOptions;
    try {
      storageOptions = await storageOptionsFor(this.core, table, this.options.storageOptions ?? {});
    } catch (err) {
      const message = errorText(err);
      this.options.metrics.errors.inc({ code: isLakehouseError(err) ? err.code : 'KUBERNETES_API' });
      await patchStatus(this.objects, namespace, name, blocked('StorageCredentials', message));
      await this.events.record(table, 'Warning', 'StorageCredentials', message);
      throw err;
    }

    // 5. The shared reconcile: observe, plan, execute, observe again.
    const startedAt = Date.now();
    const approval = table.metadata.annotations?.[APPROVE_PLAN_ANNOTATION];
    const report = await reconcileTable(desired, {
      roots: this.options.storageRoots,
      storageOptions,
      ...(this.options.memoryBudget !== undefined ? { memoryLimit: this.options.memoryBudget } : {}),
      ...(approval ? { approvals: [approval] } : {}),
      orphans: {
        previous: orphansFromStatus(table.status?.health),
        maxAgeMs: this.options.healthListIntervalMs ?? 3_600_000,
      },
      // The plan goes into the status and an Event before anything runs.
      onPlan: async (plan, state) => {
        const phase = state.state === 'awaiting' ? 'AwaitingApproval' : 'Planned';
        let previous: { id?: string; phase?: string } | undefined;
        const set = planStatus(plan, state, phase);
        await patchStatus(this.objects, namespace, name, (status, current) => {
          previous = status.plan;
          set(status, current);
        });
        if (previous?.id !== plan.id || previous?.phase !== phase)
          await this.events.record(
            table,
            'Normal',
            'MaintenancePlanned',
            planMessage(plan, state, phase, name),
          );
      },
      ...(this.jobs ? { compactionExecutor: this.jobs.executorFor(table) } : {}),
    });
    this.options.metrics.observe(namespace, report);
    log.info(
      {
        outcome: report.outcome,
        version: report.after?.version,
        actions: report.actions.map((a) => `${a.kind}:${a.status}`),
        durationMs: report.durationMs,
      },
      'reconciled',
    );

    // 6. Events and status.
    await this.recordEvents(table, report);
    const jobStatus = (await this.jobs?.statusFor(table, storageOptions, report)) ?? [];
    await patchStatus(this.objects, namespace, name, fromReport(report, startedAt), ...jobStatus);

    // 7. Come back: with backoff after a failure, when maintenance is due, or at the next due time.
    if (report.outcome === 'failed') throw new Error(`${report.error?.code}: ${report.error?.message}`);
    return { requeueAfterMs: this.requeueAfter(report) };
  }

  private requeueAfter(report: TableReport): number | undefined {
    const now = Date.now();
    let after: number | undefined;
    if (report.next.some((n) => n.due && !n.waitingForWindow && !n.waitingForApproval))
      after = this.options.dueRequeueMs ?? 30_000;
    if (report.wakeAt) {
      const wake = Math.max(0, Date.parse(report.wakeAt) - now) + 1000;
      after = after === undefined ? wake : Math.min(after, wake);
    }
    return after;
  }

  private async recordEvents(table: KubeLakeTable, report: TableReport): Promise<void> {
    for (const a of report.actions) {
      if (a.status === 'done')
        await this.events.record(table, 'Normal', EVENT_REASON[a.kind], a.summary ?? a.reason);
      else if (a.status === 'failed')
        await this.events.record(
          table,
          'Warning',
          `${EVENT_REASON[a.kind]}Failed`,
          `${a.error?.code}: ${a.error?.message}`,
        );
    }
    if (report.refusals.length > 0) {
      const message = report.refusals.map((r) => (r.path ? `${r.path}: ${r.reason}` : r.reason)).join('; ');
      // Read the object itself: the cache may not hold the last pass's status write yet (the
      // watch lags behind), and the Event must go out once per refusal, not once per pass.
      const latest = (await this.fetchTable(table)) ?? table;
      const before = latest.status?.conditions?.find((c) => c.type === CONDITION.schemaInSync);
      // Once per refusal, not on every resync.
      if (before?.status !== 'False' || before.observedGeneration !== table.metadata.generation)
        await this.events.record(table, 'Warning', 'SchemaChangeRefused', message);
    }
    if (report.outcome === 'failed' && !report.actions.some((a) => a.status === 'failed'))
      await this.events.record(
        table,
        'Warning',
        reasonOf(report.error?.code ?? 'INTERNAL'),
        report.error?.message ?? 'reconcile failed',
      );
  }

  /** The object as the API server has it now; null when it is gone or cannot be read. */
  private async fetchTable(table: KubeLakeTable): Promise<KubeLakeTable | null> {
    try {
      return (await this.objects.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: table.metadata.namespace ?? 'default',
        plural: PLURAL,
        name: table.metadata.name,
      })) as KubeLakeTable;
    } catch {
      return null;
    }
  }

  /** The resource is being deleted: apply the deletionPolicy, then remove our finalizer. */
  private async finalize(table: KubeLakeTable, log: Logger): Promise<HandlerResult> {
    if (!table.metadata.finalizers?.includes(FINALIZER)) return {};
    const { namespace, name } = {
      namespace: table.metadata.namespace ?? 'default',
      name: table.metadata.name,
    };
    try {
      const storageOptions = await storageOptionsFor(this.core, table, this.options.storageOptions ?? {});
      const result = await cleanUpTable(table, this.options.storageRoots, storageOptions);
      await this.events.record(
        table,
        'Normal',
        result.policy === 'Delete' ? 'DataDeleted' : 'DataRetained',
        result.policy === 'Delete'
          ? `deletionPolicy Delete: ${result.filesDeleted} files deleted at ${result.location}`
          : `deletionPolicy Retain: the table at ${result.location} is left in place`,
      );
      log.info(
        { policy: result.policy, location: result.location, filesDeleted: result.filesDeleted },
        'LakeTable deleted',
      );
    } catch (err) {
      await this.events.record(
        table,
        'Warning',
        'DeletionFailed',
        `${errorText(err)}; the finalizer stays until the clean-up succeeds`,
      );
      throw err;
    }
    await this.updateFinalizers(namespace, name, (f) =>
      f.includes(FINALIZER) ? f.filter((x) => x !== FINALIZER) : null,
    );
    this.options.metrics.reconciles.inc({ outcome: 'deleted' });
    return {};
  }

  /**
   * Change metadata.finalizers with the resourceVersion read, retrying on conflict. `change`
   * returns the new list, or null when there is nothing to do. Returns the object as written
   * (or as read when unchanged); null when it is gone.
   */
  private async updateFinalizers(
    namespace: string,
    name: string,
    change: (finalizers: string[]) => string[] | null,
  ): Promise<KubeLakeTable | null> {
    for (let attempt = 0; ; attempt++) {
      let current: KubeLakeTable;
      try {
        current = (await this.objects.getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
          name,
        })) as KubeLakeTable;
      } catch (err) {
        if (err instanceof ApiException && err.code === 404) return null;
        throw err;
      }
      const next = change(current.metadata.finalizers ?? []);
      if (!next) return current;
      try {
        return (await this.objects.replaceNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
          name,
          body: { ...current, metadata: { ...current.metadata, finalizers: next } },
        })) as KubeLakeTable;
      } catch (err) {
        if (err instanceof ApiException && err.code === 409 && attempt < 5) continue;
        if (err instanceof ApiException && err.code === 404) return null;
        throw err;
      }
    }
  }
}

function specOrLifecycleChanged(a: KubeLakeTable, b: KubeLakeTable): boolean {
  return (
    a.metadata.generation !== b.metadata.generation ||
    a.metadata.deletionTimestamp !== b.metadata.deletionTimestamp ||
    // An approval of a maintenance plan is work to do.
    a.metadata.annotations?.[APPROVE_PLAN_ANNOTATION] !== b.metadata.annotations?.[APPROVE_PLAN_ANNOTATION] ||
    // Someone removed our finalizer (our own adding it is no news).
    ((a.metadata.finalizers?.includes(FINALIZER) ?? false) &&
      !(b.metadata.finalizers?.includes(FINALIZER) ?? false))
  );
}

/** The user's document: what lib/spec validates (server-set metadata left out). */
function documentOf(table: KubeLakeTable): unknown {
  const m = table.metadata;
  return {
    apiVersion: table.apiVersion ?? LAKETABLE_API_VERSION,
    kind: table.kind ?? LAKETABLE_KIND,
    metadata: {
      name: m.name,
      ...(m.namespace ? { namespace: m.namespace } : {}),
      ...(m.labels ? { labels: m.labels } : {}),
      ...(m.annotations ? { annotations: m.annotations } : {}),
    },
    spec: table.spec,
  };
}
