/**
 * Prometheus metrics of one operator process, in their own registry (two operators in one test
 * process do not collide). Served at `/metrics`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { TableReport } from '../../lib/reconcile/index.js';

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

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'lakehouse_operator_' });
  }

  private tableGauge(name: string, help: string): Gauge<'namespace' | 'name'> {
    return new Gauge({ name, help, labelNames: ['namespace', 'name'] as const, registers: [this.registry] });
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
    if (m) {
      const labels = { namespace, name: report.name };
      this.tableVersion.set(labels, m.version);
      this.tableFiles.set(labels, m.files);
      this.tableBytes.set(labels, m.bytes);
      this.tableSmallFiles.set(labels, m.smallFiles);
    }
  }

  /** Drop the per-table series of a deleted LakeTable. */
  forgetTable(namespace: string, name: string): void {
    for (const g of [this.tableVersion, this.tableFiles, this.tableBytes, this.tableSmallFiles])
      g.remove({ namespace, name });
  }
}
