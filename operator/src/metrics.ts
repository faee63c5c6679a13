/**
 * Prometheus metrics of one operator process, in their own registry (two operators in one test
 * process do not collide). Served at `/metrics`.
 *
 * Per table (labels `namespace`, `name`; removed when the LakeTable is deleted): the size figures
 * of the last reconcile and the health measures of `lib/ops/health.ts` as reconcile measured
 * them (`status.health`), one gauge each, `lakehouse_table_<measure>`. The ages of the last
 * runs are computed when scraped, from the runs' times.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { TableReport } from '../../lib/reconcile/index.js';

type TableLabels = { namespace: string; name: string };

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({
    name: 'lakehouse_operator_reconciles_total',
    help: 'LakeTable reconciles, by outcome (created, changed, maintained, unchanged, refused, failed, invalid, deleted).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'lakehouse_operator_reconcile_duration_seconds',
    help: 'Time of one LakeTable reconcile.',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'lakehouse_operator_reconcile_errors_total',
    help: 'Failed reconciles, by error code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly maintenanceRuns = new Counter({
    name: 'lakehouse_operator_maintenance_runs_total',
    help: 'Maintenance runs, by kind (compaction, checkpoint, vacuum) and result (done, skipped, failed).',
    labelNames: ['kind', 'result'] as const,
    registers: [this.registry],
  });
  readonly bytesRewritten = new Counter({
    name: 'lakehouse_operator_bytes_rewritten_total',
    help: 'Bytes written by compaction.',
    registers: [this.registry],
  });
  readonly filesRemoved = new Counter({
    name: 'lakehouse_operator_files_removed_total',
    help: 'Files removed from tables (compaction) or deleted from storage (vacuum), by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'lakehouse_operator_queue_depth',
    help: 'LakeTables waiting for a worker.',
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'lakehouse_operator_leader',
    help: '1 while this process holds the leader Lease.',
    registers: [this.registry],
  });
  readonly tableVersion = this.tableGauge('lakehouse_table_version', 'Current Delta version of the table.');
  readonly tableFiles = this.tableGauge('lakehouse_table_files', 'Data files in the current version.');
  readonly tableBytes = this.tableGauge(
    'lakehouse_table_bytes',
    'Bytes of data files in the current version.',
  );
  readonly tableSmallFiles = this.tableGauge(
    'lakehouse_table_small_files',
    'Data files smaller than minFileSize.',
  );
  readonly maintenanceMemoryBudget = new Gauge({
    name: 'lakehouse_operator_maintenance_memory_budget_bytes',
    help: 'Peak memory compaction is told it may use (the container limit times the maintenance share); absent: no limit known.',
    registers: [this.registry],
  });
  readonly healthScore = this.tableGauge(
    'lakehouse_table_health_score',
    'Health score, 0-100 (100: no maintenance needed).',
  );
  readonly smallFileRatio = this.tableGauge('lakehouse_table_small_file_ratio', 'Small files / data files.');
  readonly commitsSinceCheckpoint = this.tableGauge(
    'lakehouse_table_commits_since_checkpoint',
    'Commits after the last checkpoint.',
  );
  readonly openLatestSeconds = this.tableGauge(
    'lakehouse_table_open_latest_seconds',
    'Time to open the latest snapshot (list the log, read checkpoint and commits).',
  );
  readonly removedBytesInRetention = this.tableGauge(
    'lakehouse_table_removed_bytes_in_retention',
    'Bytes of files removed inside the retention window: kept for time travel.',
  );
  readonly orphanBytes = this.tableGauge(
    'lakehouse_table_orphan_bytes',
    'Bytes of files no version inside the retention window reads (from the last listing).',
  );
  readonly reclaimableBytes = this.tableGauge(
    'lakehouse_table_reclaimable_bytes',
    'Orphan bytes older than the retention window: what vacuum deletes.',
  );
  readonly planAwaitingApproval = this.tableGauge(
    'lakehouse_table_plan_awaiting_approval',
    '1 while compaction or vacuum waits for its plan to be approved (maintenance.approval: Manual).',
  );
  /** Times (ms) of the last runs per table, for the age gauges. */
  private readonly lastRuns = new Map<
    string,
    { labels: TableLabels; optimize?: number; vacuum?: number; checkpoint?: number }
  >();
  readonly lastOptimizeAge = this.ageGauge(
    'optimize',
    'lakehouse_table_last_optimize_age_seconds',
    'Seconds since the last OPTIMIZE.',
  );
  readonly lastVacuumAge = this.ageGauge(
    'vacuum',
    'lakehouse_table_last_vacuum_age_seconds',
    'Seconds since the last VACUUM.',
  );
  readonly lastCheckpointAge = this.ageGauge(
    'checkpoint',
    'lakehouse_table_last_checkpoint_age_seconds',
    'Seconds since the last checkpoint was written.',
  );

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'lakehouse_operator_' });
  }

  private tableGauge(name: string, help: string): Gauge<'namespace' | 'name'> {
    return new Gauge({ name, help, labelNames: ['namespace', 'name'] as const, registers: [this.registry] });
  }

  private ageGauge(
    kind: 'optimize' | 'vacuum' | 'checkpoint',
    name: string,
    help: string,
  ): Gauge<'namespace' | 'name'> {
    const runs = (): OperatorMetrics['lastRuns'] => this.lastRuns;
    return new Gauge({
      name,
      help,
      labelNames: ['namespace', 'name'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        const now = Date.now();
        for (const r of runs().values()) {
          const at = r[kind];
          if (at !== undefined) this.set(r.labels, Math.max(0, (now - at) / 1000));
        }
      },
    });
  }

  /** Count a reconcile's outcome, its maintenance and the table's measures. */
  observe(namespace: string, report: TableReport): void {
    this.reconciles.inc({ outcome: report.outcome });
    this.reconcileDuration.observe(report.durationMs / 1000);
    if (report.error) this.errors.inc({ code: report.error.code });
    for (const a of report.actions) {
      if (a.kind !== 'compaction' && a.kind !== 'checkpoint' && a.kind !== 'vacuum') continue;
      if (a.status === 'done' || a.status === 'skipped' || a.status === 'failed')
        this.maintenanceRuns.inc({ kind: a.kind, result: a.status });
      const n = (k: string): number => (typeof a.metrics?.[k] === 'number' ? (a.metrics[k] as number) : 0);
      if (a.kind === 'compaction') {
        this.bytesRewritten.inc(n('bytesAdded'));
        this.filesRemoved.inc({ kind: 'compaction' }, n('filesRemoved'));
      }
      if (a.kind === 'vacuum') this.filesRemoved.inc({ kind: 'vacuum' }, n('filesDeleted'));
    }
    const m = report.after ?? report.before;
    const labels = { namespace, name: report.name };
    if (m) {
      this.tableVersion.set(labels, m.version);
      this.tableFiles.set(labels, m.files);
      this.tableBytes.set(labels, m.bytes);
      this.tableSmallFiles.set(labels, m.smallFiles);
    }
    if (report.approval !== undefined && report.outcome !== 'failed')
      this.planAwaitingApproval.set(labels, report.approval?.state === 'awaiting' ? 1 : 0);
    const h = report.health;
    if (!h) return;
    const x = h.measures;
    this.healthScore.set(labels, h.score);
    this.smallFileRatio.set(labels, x.smallFileRatio);
    this.commitsSinceCheckpoint.set(labels, x.commitsSinceCheckpoint);
    this.openLatestSeconds.set(labels, x.openLatestMs / 1000);
    this.removedBytesInRetention.set(labels, x.removedBytesInRetention);
    for (const [gauge, value] of [
      [this.orphanBytes, x.orphanBytes],
      [this.reclaimableBytes, x.reclaimableBytes],
    ] as const) {
      if (value === null) gauge.remove(labels);
      else gauge.set(labels, value);
    }
    this.lastRuns.set(`${namespace}/${report.name}`, {
      labels,
      ...(x.lastOptimize ? { optimize: x.lastOptimize.timestamp } : {}),
      ...(x.lastVacuum ? { vacuum: x.lastVacuum.timestamp } : {}),
      ...(x.lastCheckpoint ? { checkpoint: x.lastCheckpoint.timestamp } : {}),
    });
  }

  /** Drop the per-table series of a deleted LakeTable. */
  forgetTable(namespace: string, name: string): void {
    for (const g of [
      this.tableVersion,
      this.tableFiles,
      this.tableBytes,
      this.tableSmallFiles,
      this.healthScore,
      this.smallFileRatio,
      this.commitsSinceCheckpoint,
      this.openLatestSeconds,
      this.removedBytesInRetention,
      this.orphanBytes,
      this.reclaimableBytes,
      this.planAwaitingApproval,
    ])
      g.remove({ namespace, name });
    this.lastRuns.delete(`${namespace}/${name}`);
  }
}
