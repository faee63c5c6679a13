/**
 * Scale-out compaction as Kubernetes Jobs: Kubernetes is the distributed engine. A compaction
 * that would rewrite more than `thresholdBytes` is split by lib/reconcile (`planHandOff`) into
 * partition ranges; this module runs one batch/v1 Job per range, each running the `lakehouse`
 * CLI of the operator's own image (`lakehouse optimize <uri> --where "<partitions>" …`), watches
 * them (list + watch, no polling) and reports the run in the LakeTable's status and Events.
 *
 * Contract:
 * - Jobs live in the LakeTable's namespace, owned by it (ownerReference: deleting the LakeTable
 *   deletes them), labelled with the table's uid and the run id, named deterministically
 *   (`<table>-compact-<run>-<range>`, the run id hashing the table uid and the table version the
 *   split was planned at). While any Job of a table is unfinished no new run starts: a restarted
 *   operator adopts the running Jobs (it finds them by label) instead of starting duplicates.
 * - Results come from the table itself, not from Pods: once every Job of a run has finished, the
 *   table's history is read back to the planned version and each OPTIMIZE commit is matched to
 *   its Job by its `predicate` parameter (the Job's `--where`). That needs no permission on Pods or
 *   logs and reports only what really committed (a Job that died after committing part of its
 *   bins still shows those). The Job's phase comes from its status conditions.
 * - A failed run sets MaintenanceHealthy=False (reason CompactionJobFailed, with the Job names)
 *   and holds off every compaction of that table (Jobs or in-process) for `retryAfterFailureMs`.
 * - Credentials: the Jobs run as `serviceAccountName` (bound to the same cloud identity as the
 *   operator's); a `spec.storageSecretRef` Secret is passed with `envFrom`, so its keys must be the
 *   storage options' environment names (`AWS_ACCESS_KEY_ID`, `AZURE_STORAGE_ACCOUNT_KEY`, …). No
 *   secret value is ever put into a Job's spec, a log line or the status.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { history } from '../../lib/delta/history.js';
import { formatFilter, parseFilter } from '../../lib/data/expr.js';
import type {
  CompactionExecutor,
  CompactionHandOff,
  HandOffOutcome,
  TableReport,
} from '../../lib/reconcile/index.js';
import { LAKETABLE_API_VERSION, LAKETABLE_KIND } from '../../lib/spec/index.js';
import { openStore, type StorageOptions } from '../../lib/storage/index.js';
import { setCondition } from './conditions.js';
import type { EventRecorder } from './events.js';
import { errorText } from './informer.js';
import { ApiException, BatchV1Api, KubeConfig, Watch, type V1Job } from './kube.js';
import { CONDITION, tableKey } from './names.js';
import { kubeTime, type StatusMutator } from './status.js';
import type { KubeLakeTable } from './types.js';

/** Labels on every compaction Job (and its Pods). */
export const JOB_LABEL = {
  managedBy: 'app.kubernetes.io/managed-by',
  component: 'app.kubernetes.io/component',
  /** The owning LakeTable's uid: how the operator finds a table's Jobs. */
  tableUid: 'lakehouse.dev/table-uid',
  /** The owning LakeTable's name (omitted when longer than a label value may be). */
  table: 'lakehouse.dev/table',
  /** One compaction split into Jobs. */
  run: 'lakehouse.dev/run',
  range: 'lakehouse.dev/range',
} as const;

/** Annotations of a compaction Job: what it rewrites. */
export const JOB_ANNOTATION = {
  where: 'lakehouse.dev/where',
  partitionRange: 'lakehouse.dev/partition-range',
  plannedVersion: 'lakehouse.dev/planned-version',
  location: 'lakehouse.dev/location',
  bytes: 'lakehouse.dev/planned-bytes',
  files: 'lakehouse.dev/planned-files',
} as const;

export const MANAGED_BY = 'lakehouse-operator';
export const COMPONENT_COMPACTION = 'compaction';

/** How compaction Jobs are made. */
export interface JobSettings {
  /** The operator's image (it carries the `lakehouse` CLI). Required. */
  readonly image: string;
  readonly imagePullPolicy?: string;
  /** ServiceAccount of the Jobs in each LakeTable namespace. Default `lakehouse-maintenance`. */
  readonly serviceAccountName?: string;
  /** Compactions rewriting more than this run as Jobs. Default 1 GiB. */
  readonly thresholdBytes?: number;
  /** Bytes a Job's partition range aims for. Default `thresholdBytes`. */
  readonly rangeBytes?: number;
  /** Jobs per compaction at most. Default 20. */
  readonly maxJobs?: number;
  /** Container resources. Default requests 500m / 1Gi, limits 2 CPU / 2Gi. */
  readonly resources?: {
    readonly requests?: Readonly<Record<string, string>>;
    readonly limits?: Readonly<Record<string, string>>;
  };
  /** Default 2 (three attempts). */
  readonly backoffLimit?: number;
  /** Default 6 h. */
  readonly activeDeadlineSeconds?: number;
  /** Finished Jobs are deleted by Kubernetes after this. Default 1 day. */
  readonly ttlSecondsAfterFinished?: number;
  /** OPTIMIZE commits after every N bins, so a Job stopped at its deadline keeps its progress. Default 10. */
  readonly commitEvery?: number;
  /** After a failed run, no compaction of the table (Jobs or in-process) for this long. Default 1 h. */
  readonly retryAfterFailureMs?: number;
  /** The CLI in the image. Default `/nodejs/bin/node bin/lakehouse.js` in `/app` (operator/Dockerfile). */
  readonly command?: readonly string[];
  readonly workingDir?: string;
}

export const JOB_DEFAULTS = {
  serviceAccountName: 'lakehouse-maintenance',
  thresholdBytes: 1024 ** 3,
  maxJobs: 20,
  resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' } },
  backoffLimit: 2,
  activeDeadlineSeconds: 6 * 3600,
  ttlSecondsAfterFinished: 86_400,
  commitEvery: 10,
  retryAfterFailureMs: 3_600_000,
  command: ['/nodejs/bin/node', 'bin/lakehouse.js'],
  workingDir: '/app',
} as const;

/** Share of the container's memory limit OPTIMIZE plans to stay under (the rest: Node and GC headroom). */
const MEMORY_LIMIT_SHARE = 0.8;

export type JobPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

/** A Job's phase, from its status as the Job controller writes it. */
export function jobPhase(job: V1Job): JobPhase {
  const c = job.status?.conditions ?? [];
  if (c.some((x) => x.type === 'Complete' && x.status === 'True')) return 'Succeeded';
  if (c.some((x) => x.type === 'Failed' && x.status === 'True')) return 'Failed';
  return (job.status?.active ?? 0) > 0 ? 'Running' : 'Pending';
}

const finished = (job: V1Job): boolean => {
  const p = jobPhase(job);
  return p === 'Succeeded' || p === 'Failed';
};

/** Run id: the table's uid and the version the split was planned at, hashed (8 hex digits). */
export function runIdOf(tableUid: string, plannedVersion: number): string {
  return createHash('sha256').update(`${tableUid}/${plannedVersion}`).digest('hex').slice(0, 8);
}

/** `<table>-compact-<run>-<range>`, at most 63 characters (Job names become Pod labels). */
export function compactionJobName(tableName: string, runId: string, index: number): string {
  const suffix = `-compact-${runId}-${index}`;
  const base = tableName.slice(0, 63 - suffix.length).replace(/[^a-z0-9]+$/, '');
  return `${base}${suffix}`;
}

/** Bytes of a Kubernetes memory quantity (`2Gi`, `512Mi`, `1G`, `1048576`). */
export function quantityBytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q.trim());
  if (!m) throw new Error(`"${q}" is not a memory quantity; use e.g. 2Gi or 512Mi`);
  const f: Record<string, number> = {
    '': 1,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Math.floor(Number(m[1]) * f[m[2] ?? '']!);
}

/** The Job that compacts range `index` of `work` for `table`. Pure. */
export function buildCompactionJob(
  table: KubeLakeTable,
  work: CompactionHandOff,
  index: number,
  settings: JobSettings,
  storageOptions: StorageOptions,
): V1Job {
  const range = work.ranges[index]!;
  const namespace = table.metadata.namespace ?? 'default';
  const uid = table.metadata.uid ?? '';
  const runId = runIdOf(uid, work.version);
  const resources = {
    requests: { ...JOB_DEFAULTS.resources.requests, ...settings.resources?.requests },
    limits: { ...JOB_DEFAULTS.resources.limits, ...settings.resources?.limits },
  };
  const memoryBytes = quantityBytes(resources.limits.memory);
  const labels: Record<string, string> = {
    [JOB_LABEL.managedBy]: MANAGED_BY,
    [JOB_LABEL.component]: COMPONENT_COMPACTION,
    [JOB_LABEL.tableUid]: uid,
    ...(table.metadata.name.length <= 63 ? { [JOB_LABEL.table]: table.metadata.name } : {}),
    [JOB_LABEL.run]: runId,
    [JOB_LABEL.range]: String(index),
  };
  const r = work.request;
  const args = [
    'optimize',
    work.location,
    ...(range.where !== null ? ['--where', range.where] : []),
    '--target-size',
    String(r.targetFileSizeBytes),
    '--min-file-size',
    String(r.minFileSizeBytes),
    ...(r.zOrderBy.length > 0 ? ['--zorder-by', r.zOrderBy.join(',')] : []),
    '--commit-every',
    String(settings.commitEvery ?? JOB_DEFAULTS.commitEvery),
    '--memory-limit',
    String(Math.floor(memoryBytes * MEMORY_LIMIT_SHARE)),
    '--format',
    'json',
    // Non-secret options of the operator's configuration (region, endpoint); secrets come by envFrom.
    ...Object.entries(storageOptions).flatMap(([k, v]) => ['--storage-option', `${k}=${v}`]),
  ];
  const secret = table.spec.storageSecretRef?.name;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: compactionJobName(table.metadata.name, runId, index),
      namespace,
      labels,
      annotations: {
        ...(range.where !== null ? { [JOB_ANNOTATION.where]: range.where } : {}),
        [JOB_ANNOTATION.partitionRange]:
          range.first === range.last ? range.first : `${range.first} .. ${range.last}`,
        [JOB_ANNOTATION.plannedVersion]: String(work.version),
        [JOB_ANNOTATION.location]: work.location,
        [JOB_ANNOTATION.bytes]: String(range.bytes),
        [JOB_ANNOTATION.files]: String(range.files),
      },
      ownerReferences: [
        {
          apiVersion: LAKETABLE_API_VERSION,
          kind: LAKETABLE_KIND,
          name: table.metadata.name,
          uid,
          controller: true,
          blockOwnerDeletion: false,
        },
      ],
    },
    spec: {
      backoffLimit: settings.backoffLimit ?? JOB_DEFAULTS.backoffLimit,
      activeDeadlineSeconds: settings.activeDeadlineSeconds ?? JOB_DEFAULTS.activeDeadlineSeconds,
      ttlSecondsAfterFinished: settings.ttlSecondsAfterFinished ?? JOB_DEFAULTS.ttlSecondsAfterFinished,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          serviceAccountName: settings.serviceAccountName ?? JOB_DEFAULTS.serviceAccountName,
          // The CLI never calls the Kubernetes API; cloud workload identity brings its own token.
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            runAsGroup: 65532,
            fsGroup: 65532,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'optimize',
              image: settings.image,
              imagePullPolicy: settings.imagePullPolicy ?? 'IfNotPresent',
              workingDir: settings.workingDir ?? JOB_DEFAULTS.workingDir,
              command: [...(settings.command ?? JOB_DEFAULTS.command)],
              args,
              env: [
                {
                  name: 'NODE_OPTIONS',
                  value: `--max-old-space-size=${Math.floor((memoryBytes * 0.75) / 2 ** 20)}`,
                },
              ],
              ...(secret ? { envFrom: [{ secretRef: { name: secret } }] } : {}),
              resources,
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              // kubectl describe pod shows the end of the log of a failed attempt.
              terminationMessagePolicy: 'FallbackToLogsOnError',
              // Z-order spills to the temp folder.
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: resources.limits.memory } }],
        },
      },
    },
  };
}

/** What one Job of a run did, as the status message and Events tell it. */
export interface JobResult {
  readonly name: string;
  readonly partitionRange: string;
  readonly phase: JobPhase;
  /** Reason and message of the Job's Failed condition. */
  readonly failure?: string;
  readonly commits: number;
  readonly filesAdded: number;
  readonly filesRemoved: number;
  readonly bytesAdded: number;
  readonly bytesRemoved: number;
  /** Newest version the Job committed. */
  readonly version?: number;
}

export interface CompactionJobsOptions {
  readonly settings: JobSettings;
  /** The operator's non-secret storage options, passed to the CLI as `--storage-option`. */
  readonly storageOptions: StorageOptions;
  /** Watch one namespace; default all. */
  readonly namespace?: string;
  readonly events: EventRecorder;
  readonly log: Logger;
  /** A Job of table `namespace/name` finished: reconcile it. */
  readonly onFinished: (tableKey: string) => void;
}

/**
 * The compaction Jobs of every LakeTable: a list + watch cache of the Jobs this operator made
 * (label `app.kubernetes.io/managed-by=lakehouse-operator`), the executor lib/reconcile hands
 * large compactions to, and the status of each table's latest run.
 */
export class CompactionJobs {
  private readonly cache = new Map<string, V1Job>();
  private readonly batch: BatchV1Api;
  private readonly kc: KubeConfig;
  private readonly watcher: Watch;
  /** Results of finished runs (read from the table history once). */
  private readonly results = new Map<string, JobResult[]>();
  private resourceVersion = '';
  private stopped = false;
  private synced = false;
  private failures = 0;
  private watchAbort: AbortController | undefined;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    kc: KubeConfig,
    private readonly options: CompactionJobsOptions,
  ) {
    this.kc = KubeConfig.from(kc);
    this.batch = this.kc.makeApiClient(BatchV1Api);
    this.watcher = new Watch(this.kc);
  }

  get thresholdBytes(): number {
    return this.options.settings.thresholdBytes ?? JOB_DEFAULTS.thresholdBytes;
  }

  /** Start listing and watching; resolves after the first list (adoption needs it). */
  async start(): Promise<void> {
    await new Promise<void>((resolve) => void this.relist(resolve));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.watchAbort?.abort();
  }

  /** The Jobs of a table (by its uid), in name order. */
  jobsOf(table: KubeLakeTable): V1Job[] {
    const uid = table.metadata.uid;
    return [...this.cache.values()]
      .filter((j) => j.metadata?.labels?.[JOB_LABEL.tableUid] === uid)
      .sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
  }

  /** The Jobs of the table's newest run (by creation time), or empty. */
  latestRun(table: KubeLakeTable): V1Job[] {
    const jobs = this.jobsOf(table);
    let newest: V1Job | undefined;
    for (const j of jobs)
      if (!newest || (j.metadata?.creationTimestamp ?? '') > (newest.metadata?.creationTimestamp ?? ''))
        newest = j;
    const run = newest?.metadata?.labels?.[JOB_LABEL.run];
    return run ? jobs.filter((j) => j.metadata?.labels?.[JOB_LABEL.run] === run) : [];
  }

  /** The executor lib/reconcile hands this table's large compactions to. */
  executorFor(table: KubeLakeTable): CompactionExecutor {
    const s = this.options.settings;
    return {
      thresholdBytes: this.thresholdBytes,
      rangeBytes: s.rangeBytes ?? this.thresholdBytes,
      maxRanges: s.maxJobs ?? JOB_DEFAULTS.maxJobs,
      inProgress: () => this.inProgress(table),
      run: (work) => this.run(table, work),
    };
  }

  /**
   * What holds the table's compactions, if anything: an unfinished run, or a failed run less than
   * `retryAfterFailureMs` ago (no compaction, in Jobs or in-process, until then).
   */
  private inProgress(table: KubeLakeTable): HandOffOutcome | null {
    const current = this.latestRun(table);
    if (current.length === 0) return null;
    const active = current.filter((j) => !finished(j));
    if (active.length > 0)
      return {
        summary: `compaction running as ${current.length} Kubernetes Job${current.length === 1 ? '' : 's'} (run ${runOf(current[0]!)}, ${active.length} unfinished); no other compaction starts meanwhile`,
        metrics: { jobs: current.length },
      };
    const failedAt = current.some((j) => jobPhase(j) === 'Failed') ? completionOf(current) : null;
    const retryAfter = this.options.settings.retryAfterFailureMs ?? JOB_DEFAULTS.retryAfterFailureMs;
    if (failedAt !== null && Date.parse(failedAt) + retryAfter > Date.now())
      return {
        summary: `the last compaction Job run (${runOf(current[0]!)}) failed at ${failedAt}; no compaction of the table before ${new Date(Date.parse(failedAt) + retryAfter).toISOString()}`,
        metrics: { jobs: current.length },
      };
    return null;
  }

  private async run(table: KubeLakeTable, work: CompactionHandOff): Promise<HandOffOutcome> {
    const held = this.inProgress(table);
    if (held) return held;
    const runId = runIdOf(table.metadata.uid ?? '', work.version);
    const created: string[] = [];
    for (let i = 0; i < work.ranges.length; i++) {
      const job = buildCompactionJob(table, work, i, this.options.settings, this.options.storageOptions);
      const name = job.metadata!.name!;
      try {
        const made = await this.batch.createNamespacedJob({ namespace: job.metadata!.namespace!, body: job });
        this.remember(made);
        created.push(name);
        const range = work.ranges[i]!;
        await this.options.events.record(
          table,
          'Normal',
          'CompactionJobStarted',
          `Job ${name}: partitions ${range.first === range.last ? range.first : `${range.first} .. ${range.last}`} (${range.partitions} partition${range.partitions === 1 ? '' : 's'}, ${range.files} files, ${range.bytes} bytes)`,
        );
      } catch (err) {
        // Already there (a previous attempt of this run): adopt it.
        if (!(err instanceof ApiException && err.code === 409)) throw err;
      }
    }
    this.options.log.info(
      {
        table: tableKey(table.metadata.namespace, table.metadata.name),
        run: runId,
        jobs: work.ranges.length,
        bytes: work.bytes,
      },
      'compaction handed to Kubernetes Jobs',
    );
    return {
      summary: `${work.bytes} bytes in ${work.files} files to rewrite (over the ${this.thresholdBytes}-byte threshold): ${work.ranges.length} Kubernetes Job${work.ranges.length === 1 ? '' : 's'} (run ${runId})${created.length < work.ranges.length ? `, ${work.ranges.length - created.length} adopted` : ''}`,
      metrics: { jobs: work.ranges.length },
    };
  }

  /**
   * Status of the table's newest Job run: `lastCompaction` (Running while a Job runs; then
   * Succeeded or Failed with the figures each Job committed, read from the table's history),
   * and MaintenanceHealthy=False naming the failed Jobs. Empty when the table has no Jobs. A
   * compaction that ran in the operator after the run (below the threshold) is newer: then the
   * run is left out of the status. `report` is this pass's reconcile report.
   */
  async statusFor(
    table: KubeLakeTable,
    storageOptions: StorageOptions,
    report: TableReport,
  ): Promise<StatusMutator[]> {
    const jobs = this.latestRun(table);
    if (jobs.length === 0) return [];
    const run = runOf(jobs[0]!);
    const done = jobs.every(finished);
    let results: JobResult[];
    if (done && this.results.has(run)) results = this.results.get(run)!;
    else {
      results = done ? await this.readResults(jobs, storageOptions) : jobs.map((j) => emptyResult(j));
      if (done) this.results.set(run, results);
    }
    const failed = results.filter((r) => r.phase === 'Failed');
    const sum = (k: 'filesAdded' | 'filesRemoved' | 'bytesAdded' | 'bytesRemoved'): number =>
      results.reduce((s, r) => s + r[k], 0);
    const versions = results.map((r) => r.version).filter((v): v is number => v !== undefined);
    const counts = (['Running', 'Pending', 'Succeeded', 'Failed'] as const)
      .map((p) => [p, results.filter((r) => r.phase === p).length] as const)
      .filter(([, n]) => n > 0)
      .map(([p, n]) => `${n} ${p.toLowerCase()}`);
    const message = (
      `compaction as ${jobs.length} Kubernetes Job${jobs.length === 1 ? '' : 's'} (run ${run}): ${counts.join(', ')}; ` +
      results.map(resultText).join('; ')
    ).slice(0, 4000);
    const startTime = jobs.map((j) => j.metadata?.creationTimestamp ?? '').sort()[0];
    const completionTime = done ? completionOf(jobs) : null;
    const handedOff = report.actions.some((a) => a.kind === 'compaction' && a.status === 'handed-off');
    const runStart = startTime ? Date.parse(startTime) : 0;
    // lastCompaction of an in-process run has no `jobs`; newer than this run, it stands.
    const supersededBy = (status: { lastCompaction?: { jobs?: number; startTime?: string } }): boolean =>
      !handedOff &&
      status.lastCompaction !== undefined &&
      status.lastCompaction.jobs === undefined &&
      Date.parse(status.lastCompaction.startTime ?? '') > runStart;
    const mutators: StatusMutator[] = [
      (status) => {
        if (supersededBy(status)) return;
        status.lastCompaction = {
          ...(startTime ? { startTime: kubeTime(startTime) } : {}),
          ...(completionTime ? { completionTime: kubeTime(completionTime) } : {}),
          result: !done ? 'Running' : failed.length > 0 ? 'Failed' : 'Succeeded',
          message,
          ...(versions.length > 0 ? { version: Math.max(...versions) } : {}),
          ...(done
            ? {
                filesAdded: sum('filesAdded'),
                filesRemoved: sum('filesRemoved'),
                bytesAdded: sum('bytesAdded'),
                bytesRemoved: sum('bytesRemoved'),
              }
            : {}),
          jobs: jobs.length,
        };
      },
    ];
    if (failed.length > 0)
      mutators.unshift((status, t) => {
        if (supersededBy(status)) return;
        const conditions = [...(status.conditions ?? [])];
        setCondition(
          conditions,
          {
            type: CONDITION.maintenanceHealthy,
            status: 'False',
            reason: 'CompactionJobFailed',
            message:
              `compaction Job${failed.length === 1 ? '' : 's'} failed: ${failed.map(resultText).join('; ')}`.slice(
                0,
                4000,
              ),
          },
          t.metadata.generation,
          kubeTime(),
        );
        status.conditions = conditions;
      });
    return mutators;
  }

  /** Each Job's commits: the run's OPTIMIZE commits after the planned version, matched by predicate. */
  private async readResults(jobs: V1Job[], storageOptions: StorageOptions): Promise<JobResult[]> {
    const a = jobs[0]!.metadata!.annotations ?? {};
    const location = a[JOB_ANNOTATION.location];
    const planned = Number(a[JOB_ANNOTATION.plannedVersion] ?? -1);
    const byPredicate = new Map<string, Omit<JobResult, 'name' | 'partitionRange' | 'phase'>>();
    if (location) {
      const store = await openStore(location, storageOptions);
      try {
        for await (const entry of history(store, { limit: 10_000 })) {
          if (entry.version <= planned) break;
          const info = entry.commitInfo;
          if (info?.operation !== 'OPTIMIZE') continue;
          const key = predicateOf(info.operationParameters?.predicate);
          const m = info.operationMetrics ?? {};
          const prev = byPredicate.get(key) ?? {
            commits: 0,
            filesAdded: 0,
            filesRemoved: 0,
            bytesAdded: 0,
            bytesRemoved: 0,
          };
          byPredicate.set(key, {
            commits: prev.commits + 1,
            filesAdded: prev.filesAdded + Number(m.numFilesAdded ?? 0),
            filesRemoved: prev.filesRemoved + Number(m.numFilesRemoved ?? 0),
            bytesAdded: prev.bytesAdded + totalSize(m.filesAdded),
            bytesRemoved: prev.bytesRemoved + totalSize(m.filesRemoved),
            version: Math.max(prev.version ?? -1, entry.version),
          });
        }
      } finally {
        await store.close?.();
      }
    }
    return jobs.map((j) => {
      const where = j.metadata?.annotations?.[JOB_ANNOTATION.where];
      const found = byPredicate.get(where ? canonical(where) : '');
      return { ...emptyResult(j), ...found };
    });
  }

  private remember(job: V1Job): void {
    const key = `${job.metadata?.namespace}/${job.metadata?.name}`;
    const previous = this.cache.get(key);
    this.cache.set(key, job);
    if (this.synced && previous && !finished(previous) && finished(job)) void this.onJobFinished(job);
  }

  /** A Job reached Complete or Failed while we watched: an Event, then reconcile its table. */
  private async onJobFinished(job: V1Job): Promise<void> {
    const owner = job.metadata?.ownerReferences?.find((o) => o.kind === LAKETABLE_KIND);
    if (!owner) return;
    const namespace = job.metadata!.namespace!;
    const table = { metadata: { name: owner.name, namespace, uid: owner.uid } } as KubeLakeTable;
    const phase = jobPhase(job);
    const range = job.metadata?.annotations?.[JOB_ANNOTATION.partitionRange] ?? '';
    await this.options.events.record(
      table,
      phase === 'Succeeded' ? 'Normal' : 'Warning',
      phase === 'Succeeded' ? 'CompactionJobSucceeded' : 'CompactionJobFailed',
      `Job ${job.metadata!.name}: partitions ${range}: ${phase === 'Succeeded' ? 'completed' : (failureOf(job) ?? 'failed')}`,
    );
    this.options.onFinished(tableKey(namespace, owner.name));
  }

  private path(): string {
    const ns = this.options.namespace;
    return ns ? `/apis/batch/v1/namespaces/${ns}/jobs` : '/apis/batch/v1/jobs';
  }

  private selector(): string {
    return `${JOB_LABEL.managedBy}=${MANAGED_BY},${JOB_LABEL.component}=${COMPONENT_COMPACTION}`;
  }

  private retryLater(what: () => void): void {
    if (this.stopped) return;
    this.failures++;
    this.retryTimer = setTimeout(what, Math.min(30_000, 250 * 2 ** Math.min(this.failures, 10)));
  }

  private async relist(onSynced?: () => void): Promise<void> {
    if (this.stopped) return;
    try {
      const list = await this.kc
        .transportOf()
        .request<{ items: V1Job[]; metadata: { resourceVersion: string } }>('GET', this.path(), {
          query: { labelSelector: this.selector() },
        });
      this.failures = 0;
      const seen = new Set<string>();
      for (const job of list.items) {
        seen.add(`${job.metadata?.namespace}/${job.metadata?.name}`);
        this.remember(job);
      }
      for (const key of [...this.cache.keys()]) if (!seen.has(key)) this.cache.delete(key);
      this.resourceVersion = list.metadata.resourceVersion;
      this.synced = true;
      onSynced?.();
      void this.watch();
    } catch (err) {
      this.options.log.warn({ err: errorText(err) }, 'listing compaction Jobs failed; retrying');
      this.retryLater(() => void this.relist(onSynced));
    }
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    let gone = false;
    let ended = false;
    const finish = (err: unknown): void => {
      if (ended || this.stopped) return;
      ended = true;
      if (gone) void this.relist();
      else if (err) {
        this.options.log.warn({ err: errorText(err) }, 'watch of compaction Jobs failed; resuming');
        this.retryLater(() => void this.watch());
      } else void this.watch();
    };
    try {
      this.watchAbort = await this.watcher.watch(
        this.path(),
        {
          labelSelector: this.selector(),
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: 300,
        },
        (phase: string, obj: V1Job & { code?: number }) => {
          if (phase === 'ERROR') {
            if (obj.code === 410) gone = true;
            this.watchAbort?.abort();
            return;
          }
          const rv = obj.metadata?.resourceVersion;
          if (rv) this.resourceVersion = rv;
          if (phase === 'BOOKMARK') return;
          this.failures = 0;
          if (phase === 'DELETED') this.cache.delete(`${obj.metadata?.namespace}/${obj.metadata?.name}`);
          else this.remember(obj);
        },
        (err: unknown) => finish(gone ? null : err),
      );
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 410) gone = true;
      finish(err);
    }
  }
}

function runOf(job: V1Job): string {
  return job.metadata?.labels?.[JOB_LABEL.run] ?? '?';
}

/** The latest completion (or failure) time of finished Jobs; null when none finished. */
function completionOf(jobs: V1Job[]): string | null {
  const times = jobs
    .map(
      (j) =>
        j.status?.completionTime ??
        j.status?.conditions?.find(
          (c) => (c.type === 'Failed' || c.type === 'Complete') && c.status === 'True',
        )?.lastTransitionTime,
    )
    .filter((t): t is string => typeof t === 'string')
    .sort();
  return times.length > 0 ? times[times.length - 1]! : null;
}

function failureOf(job: V1Job): string | undefined {
  const c = job.status?.conditions?.find((x) => x.type === 'Failed' && x.status === 'True');
  return c ? `${c.reason ?? 'Failed'}${c.message ? `: ${c.message}` : ''}` : undefined;
}

function emptyResult(job: V1Job): JobResult {
  const failure = failureOf(job);
  return {
    name: job.metadata?.name ?? '',
    partitionRange: job.metadata?.annotations?.[JOB_ANNOTATION.partitionRange] ?? '',
    phase: jobPhase(job),
    ...(failure ? { failure } : {}),
    commits: 0,
    filesAdded: 0,
    filesRemoved: 0,
    bytesAdded: 0,
    bytesRemoved: 0,
  };
}

function resultText(r: JobResult): string {
  const figures =
    r.commits > 0
      ? `, ${r.filesRemoved} files (${r.bytesRemoved} bytes) -> ${r.filesAdded} (${r.bytesAdded} bytes)`
      : '';
  return `${r.name} [${r.partitionRange}] ${r.phase}${r.failure ? ` (${r.failure})` : ''}${figures}`;
}

/** The filter text OPTIMIZE records for a `--where` (parsed and formatted again). */
function canonical(where: string): string {
  try {
    return formatFilter(parseFilter(where));
  } catch {
    return where;
  }
}

/** OPTIMIZE's `predicate` parameter (JSON text of a list of filters) as one canonical filter; '' for none. */
function predicateOf(p: unknown): string {
  try {
    const list = typeof p === 'string' ? (JSON.parse(p) as unknown) : p;
    if (Array.isArray(list) && typeof list[0] === 'string') return canonical(list[0]);
  } catch {
    // not JSON: take it as written
    if (typeof p === 'string') return canonical(p);
  }
  return '';
}

function totalSize(v: unknown): number {
  try {
    const o = (typeof v === 'string' ? JSON.parse(v) : v) as { totalSize?: number } | undefined;
    return Number(o?.totalSize ?? 0);
  } catch {
    return 0;
  }
}
