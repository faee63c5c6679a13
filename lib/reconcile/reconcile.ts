/**
 * Reconciling LakeTables with their tables: observe, plan, execute, observe again, report. One
 * table's failure is confined to its report; many tables run with bounded concurrency.
 */
import { LakehouseError, isLakehouseError } from '../errors.js';
import {
  DefinitionRegistry,
  formatIssue,
  readLakeTableDocuments,
  resolveSettings,
  tableLocation,
  type LakeTable,
  type StorageRoots,
} from '../spec/index.js';
import { openStore, type ObjectStore, type StorageOptions } from '../storage/index.js';
import {
  approvalOf,
  GATED_KINDS,
  summarizeMaintenance,
  type ApprovalState,
  type MaintenancePlanSummary,
} from './approval.js';
import { executeAction } from './execute.js';
import type { CompactionExecutor } from './handoff.js';
import { healthOf, measureOrphans, orphanListingDue, type OrphanPolicy, type TableHealth } from './health.js';
import { observeTable, type TableState } from './observe.js';
import { plan, type MaintenanceKind, type PlannedAction, type Refusal, type TablePlan } from './plan.js';

/** Size figures of a table at one moment. */
export interface TableMeasures {
  readonly version: number;
  readonly files: number;
  readonly bytes: number;
  readonly smallFiles: number;
  readonly commitsSinceCheckpoint: number;
}

export interface ActionReport {
  readonly kind: PlannedAction['kind'];
  readonly reason: string;
  /**
   * `done`; `skipped` (it ran and found nothing to do); `planned` (dry run); `failed`; `not-run`
   * (an earlier action of the table failed); `awaiting-approval` (compaction or vacuum under
   * `maintenance.approval: Manual` whose plan was not approved); `handed-off` (a compaction given
   * to `compactionExecutor`, which reports its result).
   */
  readonly status: 'done' | 'skipped' | 'planned' | 'failed' | 'not-run' | 'awaiting-approval' | 'handed-off';
  readonly summary?: string;
  readonly version?: number;
  readonly metrics?: Readonly<Record<string, number | string | null>>;
  readonly error?: { readonly code: string; readonly message: string };
  /** ISO-8601, for actions that ran (done, skipped or failed). */
  readonly startTime?: string;
  readonly completionTime?: string;
}

/** Maintenance after this reconcile: due now (waiting for nothing but the next pass) or why not yet. */
export interface NextMaintenance {
  readonly kind: MaintenanceKind;
  readonly due: boolean;
  /** ISO-8601 time at which time alone makes it due; null when it depends on the table's state. */
  readonly at: string | null;
  /** Due, but the maintenance window is closed; `at` is when it opens. */
  readonly waitingForWindow: boolean;
  /** Due, but its plan waits for approval (`maintenance.approval: Manual`). */
  readonly waitingForApproval?: boolean;
  readonly reason: string;
}

/**
 * `created` (the table was created), `changed` (columns or properties applied, maybe maintenance
 * too), `maintained` (maintenance only), `unchanged` (nothing to do), `planned` (dry run with
 * something to do), `refused` (a destructive change: table untouched), `failed` (an error).
 */
export type ReconcileOutcome =
  'created' | 'changed' | 'maintained' | 'unchanged' | 'planned' | 'refused' | 'failed';

/** What reconciling one LakeTable did. Plain data: JSON-serializable as is. */
export interface TableReport {
  readonly name: string;
  /** Where the definition came from (`examples/lakehouse/x.yaml`), when known. */
  readonly document: string | null;
  readonly location: string | null;
  readonly outcome: ReconcileOutcome;
  readonly dryRun: boolean;
  /** null: no table before (or it could not be read). */
  readonly before: TableMeasures | null;
  /** null: no table after (dry run of a create, or failure before observing). */
  readonly after: TableMeasures | null;
  readonly actions: readonly ActionReport[];
  readonly refusals: readonly Refusal[];
  readonly next: readonly NextMaintenance[];
  /** ISO-8601: the earliest time a schedule or window makes something due; null: none. */
  readonly wakeAt: string | null;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly durationMs: number;
  /** The due maintenance, priced, as computed before it ran; null when none was due. */
  readonly maintenancePlan?: MaintenancePlanSummary | null;
  /** How approval treated this pass; null when no plan was made. */
  readonly approval?: ApprovalState | null;
  /** Health measures and score of the table after the pass; null without a table. */
  readonly health?: TableHealth | null;
}

export interface ReconcileTableOptions {
  /** Zone roots per storage (see `localStorageRoots`); unused for tables with a `location`. */
  readonly roots: StorageRoots;
  /** Storage settings for `openStore` (endpoint, region, …). Default none. */
  readonly storageOptions?: StorageOptions;
  /** Plan and report only; change nothing. Default false. */
  readonly dryRun?: boolean;
  /** "Now" in ms since the epoch (tests). Default Date.now() when the table's reconcile starts. */
  readonly now?: number;
  /** The definition's source, for the report. */
  readonly document?: string;
  /** Open the table's store (tests, the operator's credentials). Default `openStore(location, storageOptions)`. */
  readonly openStore?: (location: string) => Promise<ObjectStore>;
  /** Peak memory (bytes) compaction may bring the process to (OPTIMIZE's `memoryLimit`). Default none. */
  readonly memoryLimit?: number;
  /**
   * Approved plan ids (the operator's `lakehouse.dev/approve-plan` annotation, the CLI's
   * `--approve`). Under `maintenance.approval: Manual`, compaction and vacuum run only when the
   * current plan's id is among them. Default none.
   */
  readonly approvals?: readonly string[];
  /**
   * Called with the priced plan after planning and before any action runs (not in dry runs), so
   * the operator can show it (status, Event) first. Awaited; an error fails the pass.
   */
  readonly onPlan?: (plan: MaintenancePlanSummary, approval: ApprovalState) => Promise<void> | void;
  /** When to LIST the table for orphan files (health). Default: never (health without orphans). */
  readonly orphans?: OrphanPolicy;
  /** Compactions larger than its threshold are handed to it (the operator's Kubernetes Jobs). Default none: all run in-process. */
  readonly compactionExecutor?: CompactionExecutor;
}

/**
 * Reconcile one LakeTable with its table. Never throws: every failure (storage, a corrupt log, a
 * failed operation) ends up in the report as `outcome: 'failed'` with its code and message.
 */
export async function reconcileTable(table: LakeTable, options: ReconcileTableOptions): Promise<TableReport> {
  const started = Date.now();
  const now = options.now ?? started;
  const name = table.metadata.name;
  const base = { name, document: options.document ?? null, dryRun: !!options.dryRun };
  let location: string | null = null;
  let store: ObjectStore | undefined;
  let before: TableState | null = null;
  let beforeKnown = false;
  try {
    location = tableLocation(table, options.roots);
    store = options.openStore
      ? await options.openStore(location)
      : await openStore(location, options.storageOptions ?? {});
    const minFileSizeBytes = resolveSettings(table).compaction.minFileSizeBytes;
    before = await observeTable(store, { minFileSizeBytes });
    beforeKnown = true;
    const p = plan(table, before, now);
    const settings = resolveSettings(table);
    const activeStore = store;
    const health = async (state: TableState | null, vacuumRan: boolean): Promise<TableHealth | null> => {
      if (!state) return null;
      let orphans = options.orphans?.previous ?? null;
      let listed = false;
      if (options.orphans && orphanListingDue(options.orphans, Date.now(), vacuumRan)) {
        orphans = await measureOrphans(activeStore, Date.now(), state.retentionMs);
        listed = true;
      }
      return healthOf(state, settings.checkpoint.interval, Date.now(), orphans, listed);
    };
    const summary =
      p.refusals.length > 0 || !before
        ? null
        : await summarizeMaintenance(store, p.actions, {
            now,
            ...(options.memoryLimit !== undefined ? { memoryLimit: options.memoryLimit } : {}),
          });
    const approval = summary ? approvalOf(settings.approval, summary, options.approvals) : null;
    const awaiting = approval?.state === 'awaiting';
    const runnable = awaiting ? p.actions.filter((a) => !GATED_KINDS.has(a.kind)) : p.actions;
    const held = new Set(awaiting ? p.actions.filter((a) => GATED_KINDS.has(a.kind)).map((a) => a.kind) : []);
    const planFields = { maintenancePlan: summary, approval };
    if (summary && approval && !options.dryRun) await options.onPlan?.(summary, approval);
    if (p.refusals.length > 0 || p.actions.length === 0 || options.dryRun || runnable.length === 0) {
      return {
        ...base,
        location,
        outcome:
          p.refusals.length > 0
            ? 'refused'
            : p.actions.length === 0 || (!options.dryRun && runnable.length === 0)
              ? 'unchanged'
              : 'planned',
        before: measures(before),
        after: measures(before),
        actions: p.actions.map((a) => ({
          kind: a.kind,
          reason: a.reason,
          ...(held.has(a.kind) && !options.dryRun
            ? { status: 'awaiting-approval' as const, summary: `waits for approval of plan ${summary!.id}` }
            : { status: 'planned' as const }),
        })),
        refusals: p.refusals,
        next: nextOf(p, now, held),
        wakeAt: iso(p.wakeAt),
        error: null,
        durationMs: Date.now() - started,
        ...planFields,
        health: await health(before, false),
      };
    }
    const reports: ActionReport[] = [];
    let failure: { code: string; message: string } | null = null;
    for (const action of p.actions) {
      if (held.has(action.kind)) {
        reports.push({
          kind: action.kind,
          reason: action.reason,
          status: 'awaiting-approval',
          summary: `waits for approval of plan ${summary!.id}`,
        });
        continue;
      }
      if (failure) {
        reports.push({ kind: action.kind, reason: action.reason, status: 'not-run' });
        continue;
      }
      const startTime = new Date().toISOString();
      try {
        const r = await executeAction(store, action, {
          tableName: name,
          ...(options.memoryLimit !== undefined ? { memoryLimit: options.memoryLimit } : {}),
          ...(options.compactionExecutor ? { compactionExecutor: options.compactionExecutor } : {}),
        });
        reports.push({
          kind: action.kind,
          reason: action.reason,
          status: r.status,
          summary: r.summary,
          ...(r.version !== undefined ? { version: r.version } : {}),
          metrics: r.metrics,
          startTime,
          completionTime: new Date().toISOString(),
        });
      } catch (err) {
        failure = errorOf(err);
        reports.push({
          kind: action.kind,
          reason: action.reason,
          status: 'failed',
          error: failure,
          startTime,
          completionTime: new Date().toISOString(),
        });
      }
    }
    const after = await observeTable(store, { minFileSizeBytes });
    const nextPlan = after ? plan(table, after, now) : null;
    const kinds = new Set(runnable.map((a) => a.kind));
    const vacuumRan = reports.some((a) => a.kind === 'vacuum' && a.status === 'done');
    return {
      ...base,
      location,
      outcome: failure
        ? 'failed'
        : kinds.has('create')
          ? 'created'
          : kinds.has('addColumns') || kinds.has('setProperties')
            ? 'changed'
            : 'maintained',
      before: measures(before),
      after: measures(after),
      actions: reports,
      refusals: [],
      next: nextPlan ? nextOf(nextPlan, now, held) : [],
      wakeAt: iso(nextPlan?.wakeAt ?? null),
      error: failure,
      durationMs: Date.now() - started,
      ...planFields,
      health: await health(after, vacuumRan),
    };
  } catch (err) {
    return {
      ...base,
      location,
      outcome: 'failed',
      before: beforeKnown ? measures(before) : null,
      after: null,
      actions: [],
      refusals: [],
      next: [],
      wakeAt: null,
      error: errorOf(err),
      durationMs: Date.now() - started,
    };
  } finally {
    await store?.close?.();
  }
}

function measures(s: TableState | null): TableMeasures | null {
  return s
    ? {
        version: s.version,
        files: s.files,
        bytes: s.bytes,
        smallFiles: s.smallFiles,
        commitsSinceCheckpoint: s.commitsSinceCheckpoint,
      }
    : null;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

const MAINTENANCE: ReadonlySet<string> = new Set(['compaction', 'checkpoint', 'vacuum']);

/**
 * What a plan says about maintenance: due actions first, then what is not due and why. Kinds in
 * `held` are due but wait for their plan's approval.
 */
function nextOf(p: TablePlan, now: number, held: ReadonlySet<string> = new Set()): NextMaintenance[] {
  const out: NextMaintenance[] = [];
  for (const a of p.actions) {
    if (MAINTENANCE.has(a.kind))
      out.push({
        kind: a.kind as MaintenanceKind,
        due: true,
        at: iso(now),
        waitingForWindow: false,
        ...(held.has(a.kind) ? { waitingForApproval: true } : {}),
        reason: held.has(a.kind) ? `waiting for approval of the plan; ${a.reason}` : a.reason,
      });
  }
  for (const n of p.notDue)
    out.push({
      kind: n.kind,
      due: false,
      at: iso(n.at),
      waitingForWindow: n.waitingForWindow,
      reason: n.reason,
    });
  const order = ['compaction', 'checkpoint', 'vacuum'];
  return out.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
}

function errorOf(err: unknown): { code: string; message: string } {
  if (isLakehouseError(err)) return { code: err.code, message: err.message };
  const e = err as Error;
  return { code: 'INTERNAL', message: e?.message ?? String(err) };
}

// ---------------------------------------------------------------------------------------------
// Many tables

export interface ReconcileAllOptions extends Omit<ReconcileTableOptions, 'document' | 'now'> {
  /** Tables reconciled at the same time. Default 4. */
  readonly concurrency?: number;
  /** "Now" for every table (tests). Default: the time each table's reconcile starts. */
  readonly now?: number;
  /** Called with each report in definition order, as soon as it and those before it are done. */
  readonly onReport?: (report: TableReport) => void;
}

export interface ReconcileSummary {
  readonly tables: number;
  readonly counts: Readonly<Record<ReconcileOutcome, number>>;
  /** ISO-8601: the earliest `wakeAt` of all tables; null when none. */
  readonly wakeAt: string | null;
  readonly durationMs: number;
  /** Every report, in definition order (kept small: no file lists). */
  readonly reports: readonly TableReport[];
}

/**
 * Reconcile every LakeTable under `dirOrFiles` (files or folders, as `loadLakeTables` reads them).
 * Definitions are read one at a time and at most `concurrency` tables are worked on at once, so
 * memory stays flat however many definitions there are. An invalid or duplicate definition gets a
 * `failed` report with its validation issues; the others go on. INVALID_ARGUMENT when a path does
 * not exist or holds no definition.
 */
export async function reconcileAll(
  dirOrFiles: string | readonly string[],
  options: ReconcileAllOptions,
): Promise<ReconcileSummary> {
  const started = Date.now();
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const reports: TableReport[] = [];
  const done = new Map<number, TableReport>();
  let emitted = 0;
  const emit = (i: number, r: TableReport): void => {
    done.set(i, r);
    while (done.has(emitted)) {
      const next = done.get(emitted)!;
      done.delete(emitted);
      reports.push(next);
      options.onReport?.(next);
      emitted++;
    }
  };
  const running = new Set<Promise<void>>();
  const registry = new DefinitionRegistry();
  let index = 0;
  for await (const d of readLakeTableDocuments(dirOrFiles)) {
    const i = index++;
    if (!d.ok) {
      emit(i, invalidReport(d.name ?? d.document, d.document, d.issues.map(formatIssue)));
      continue;
    }
    const clash = registry.add(d.table, d.document);
    if (clash.length > 0) {
      emit(i, invalidReport(d.table.metadata.name, d.document, clash.map(formatIssue)));
      continue;
    }
    const table = d.table;
    while (running.size >= concurrency) await Promise.race(running);
    const job = reconcileTable(table, {
      ...options,
      document: d.document,
      ...(options.now !== undefined ? { now: options.now } : {}),
    }).then((r) => emit(i, r));
    const tracked = job.finally(() => running.delete(tracked));
    running.add(tracked);
  }
  await Promise.all(running);
  if (index === 0) {
    const where = typeof dirOrFiles === 'string' ? dirOrFiles : dirOrFiles.join(', ');
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `no LakeTable documents in ${where}; give .yaml, .yml or .json files or folders holding them`,
    );
  }
  const counts: Record<ReconcileOutcome, number> = {
    created: 0,
    changed: 0,
    maintained: 0,
    unchanged: 0,
    planned: 0,
    refused: 0,
    failed: 0,
  };
  let wake: string | null = null;
  for (const r of reports) {
    counts[r.outcome]++;
    if (r.wakeAt !== null && (wake === null || r.wakeAt < wake)) wake = r.wakeAt;
  }
  return { tables: reports.length, counts, wakeAt: wake, durationMs: Date.now() - started, reports };
}

function invalidReport(name: string, document: string, issues: string[]): TableReport {
  return {
    name,
    document,
    location: null,
    outcome: 'failed',
    dryRun: false,
    before: null,
    after: null,
    actions: [],
    refusals: [],
    next: [],
    wakeAt: null,
    error: { code: 'INVALID_SPEC', message: `invalid definition, not reconciled:\n  ${issues.join('\n  ')}` },
    durationMs: 0,
  };
}

/** True when the summary holds a failed or refused table (the CLI exits 1). */
export function hasProblems(summary: ReconcileSummary): boolean {
  return summary.counts.failed > 0 || summary.counts.refused > 0;
}
