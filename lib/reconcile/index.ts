/**
 * Reconciling LakeTable definitions with their Delta tables, shared by `lakehouse reconcile`,
 * `lakehouse start` and the Kubernetes operator:
 *
 *     observeTable(store, …)  → TableState | null          (observe.ts: measured, no data read)
 *     plan(desired, observed, now) → TablePlan              (plan.ts: pure, the rules)
 *     executeAction(store, action, …) → ActionOutcome       (execute.ts: one operation each)
 *     reconcileTable(table, options) → TableReport          (all three, never throws)
 *     reconcileAll(dir, options) → ReconcileSummary          (a folder, bounded concurrency)
 *     statusOf(report) → LakeTable status fields            (status.ts: for the operator)
 *     summarizeMaintenance / approvalOf                     (approval.ts: the priced plan, its id, approval)
 *     healthOf / measureOrphans                             (health.ts: measures and score after a pass)
 */
export { observeTable, type TableState, type ObserveOptions } from './observe.js';
export { diffSchemas, type SchemaChange, type SchemaDiff } from './schema-diff.js';
export {
  plan,
  windowState,
  formatTime,
  type TablePlan,
  type PlannedAction,
  type ActionKind,
  type MaintenanceKind,
  type Refusal,
  type NotDue,
} from './plan.js';
export { executeAction, upgradedProtocol, type ActionOutcome } from './execute.js';
export { compactTable, type CompactionRequest, type CompactionResult } from './compaction.js';
export {
  planHandOff,
  partitionPredicate,
  type CompactionExecutor,
  type CompactionHandOff,
  type CompactionRange,
  type HandOffOutcome,
} from './handoff.js';
export {
  reconcileTable,
  reconcileAll,
  hasProblems,
  type TableReport,
  type TableMeasures,
  type ActionReport,
  type NextMaintenance,
  type ReconcileOutcome,
  type ReconcileTableOptions,
  type ReconcileAllOptions,
  type ReconcileSummary,
} from './reconcile.js';
export { formatTableReport, formatSummary, formatBytes } from './report.js';
export { statusOf } from './status.js';
export {
  summarizeMaintenance,
  approvalOf,
  formatPlanSummary,
  GATED_KINDS,
  type MaintenancePlanSummary,
  type ApprovalState,
} from './approval.js';
export {
  healthOf,
  measureOrphans,
  orphanListingDue,
  type OrphanMeasure,
  type OrphanPolicy,
  type TableHealth,
} from './health.js';
