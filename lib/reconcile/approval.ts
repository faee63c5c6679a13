/**
 * The maintenance plan shown before maintenance acts, and its approval. `summarizeMaintenance`
 * prices the due maintenance of a reconcile plan with `lib/ops/plan.ts` (the same planner as
 * `lakehouse plan`): files and bytes compaction rewrites, files and bytes vacuum deletes and the
 * versions whose time travel that ends, the storage requests and their cost. Its `id` is a hash
 * of what compaction and vacuum would do, so an approval names exactly one plan: when the plan
 * changes (new small files, files aging past the retention window), the id changes and an
 * approval of the old id approves nothing.
 *
 * What approval gates (`maintenance.approval: Manual`): compaction and vacuum, the two that
 * rewrite or delete data files. Checkpoints, schema and property changes never wait: a
 * checkpoint changes no data file and keeps the log fast to read, and schema changes are the
 * spec's own request.
 */
import { createHash } from 'node:crypto';
import { planMaintenance, type TablePlan as CostedPlan } from '../ops/plan.js';
import type { RequestCounts } from '../ops/pricing.js';
import type { ApprovalMode } from '../spec/index.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { PlannedAction } from './plan.js';

/** Action kinds that wait for approval under `maintenance.approval: Manual`. */
export const GATED_KINDS: ReadonlySet<PlannedAction['kind']> = new Set(['compaction', 'vacuum']);

/** What the due maintenance of one pass would do and cost. Plain data. */
export interface MaintenancePlanSummary {
  /** 16 hex digits: a hash of the location and what compaction and vacuum would do. */
  readonly id: string;
  readonly location: string;
  /** Table version the plan was computed at. */
  readonly version: number;
  /** ISO-8601. */
  readonly computedAt: string;
  /** Due maintenance, in the order it runs. */
  readonly actions: readonly { readonly kind: string; readonly reason: string }[];
  /** True when a compaction or vacuum is among the actions (what approval gates). */
  readonly needsApproval: boolean;
  readonly compaction: {
    readonly filesToRewrite: number;
    readonly bytesToRewrite: number;
    readonly filesToWrite: number;
    readonly partitions: number;
    /** The memory limit the plan was made under (bytes); null: none. */
    readonly memoryLimit: number | null;
    readonly estimatedPeakMemory: number;
  } | null;
  readonly vacuum: {
    readonly retentionHours: number;
    readonly filesToDelete: number;
    readonly bytesToDelete: number;
    /** Versions that can no longer be read once vacuum ran; null: none. */
    readonly timeTravelLost: { readonly from: number; readonly to: number } | null;
  } | null;
  readonly checkpoint: { readonly commitsSinceCheckpoint: number } | null;
  /** Estimated storage requests of the due actions. */
  readonly requests: RequestCounts;
  readonly estimatedCost: number;
  readonly currency: string;
}

/** How a pass treated approval. */
export interface ApprovalState {
  readonly mode: ApprovalMode;
  /**
   * `automatic`: mode Automatic; `not-needed`: Manual, but nothing gated is due; `approved`: the
   * given approval matches the plan id; `awaiting`: Manual and no matching approval (gated
   * actions did not run).
   */
  readonly state: 'automatic' | 'not-needed' | 'approved' | 'awaiting';
  readonly planId: string | null;
  /** Approvals given that did not match (stale or wrong ids). */
  readonly ignoredApprovals: readonly string[];
}

export interface SummarizeOptions {
  /** Compaction's memory limit (bytes), so the plan shows the file size it will write. */
  readonly memoryLimit?: number;
  /** "Now", ms since the epoch. */
  readonly now: number;
}

/**
 * Price the maintenance actions among `actions` (compaction, checkpoint, vacuum). Reads the table
 * (one snapshot, plus one LIST when vacuum is due); writes nothing. Null when none is due.
 * Errors are the planner's (e.g. MEMORY_LIMIT when compaction cannot fit the limit).
 */
export async function summarizeMaintenance(
  store: ObjectStore,
  actions: readonly PlannedAction[],
  options: SummarizeOptions,
): Promise<MaintenancePlanSummary | null> {
  const due = actions.filter(
    (a) => a.kind === 'compaction' || a.kind === 'checkpoint' || a.kind === 'vacuum',
  );
  if (due.length === 0) return null;
  const compaction = due.find((a) => a.kind === 'compaction');
  const vacuum = due.find((a) => a.kind === 'vacuum');
  const checkpoint = due.find((a) => a.kind === 'checkpoint');
  const costed: CostedPlan = await planMaintenance(store, {
    now: options.now,
    ...(compaction
      ? {
          optimize: {
            targetFileSize: compaction.targetFileSizeBytes,
            minFileSize: compaction.minFileSizeBytes,
            ...(compaction.zOrderBy.length > 0 ? { zOrderBy: compaction.zOrderBy } : {}),
            ...(options.memoryLimit !== undefined ? { memoryLimit: options.memoryLimit } : {}),
          },
        }
      : {}),
    // Without a due vacuum there is nothing to list for: an empty listing costs no request.
    ...(vacuum ? { retentionHours: vacuum.retentionHours } : { listing: [] }),
  });
  const zero: RequestCounts = { read: 0, write: 0, list: 0, delete: 0 };
  const parts = [
    compaction ? costed.optimize : null,
    vacuum ? costed.vacuum : null,
    checkpoint ? costed.checkpoint : null,
  ].filter((x): x is NonNullable<typeof x> => x !== null);
  const requests = parts.reduce<RequestCounts>(
    (sum, p) => ({
      read: sum.read + p.requests.read,
      write: sum.write + p.requests.write,
      list: sum.list + p.requests.list,
      delete: sum.delete + p.requests.delete,
    }),
    zero,
  );
  const c = costed.optimize;
  const v = costed.vacuum;
  const summary: Omit<MaintenancePlanSummary, 'id'> = {
    location: store.root,
    version: costed.version,
    computedAt: new Date(options.now).toISOString(),
    actions: due.map((a) => ({ kind: a.kind, reason: a.reason })),
    needsApproval: due.some((a) => GATED_KINDS.has(a.kind)),
    compaction: compaction
      ? {
          filesToRewrite: c.filesToRewrite,
          bytesToRewrite: c.bytesToRewrite,
          filesToWrite: c.filesToWrite,
          partitions: c.plan.partitions.filter((p) => p.action !== 'skip').length,
          memoryLimit: c.plan.memoryLimit,
          estimatedPeakMemory: c.plan.estimatedPeakMemory,
        }
      : null,
    vacuum: vacuum
      ? {
          retentionHours: v.retentionHours,
          filesToDelete: v.filesToDelete,
          bytesToDelete: v.bytesToDelete,
          timeTravelLost: v.timeTravelLost,
        }
      : null,
    checkpoint: checkpoint ? { commitsSinceCheckpoint: costed.checkpoint.commitsSinceCheckpoint } : null,
    requests,
    estimatedCost: parts.reduce((s, p) => s + p.cost, 0),
    currency: costed.currency,
  };
  return { id: planIdOf(summary, costed), ...summary };
}

/**
 * The plan id: what compaction and vacuum would do (per partition: files and bytes in and out;
 * vacuum: retention, files and bytes, per folder, and the versions lost), and where. Not the
 * table version or the time, so a commit elsewhere in the table or a resync keeps the id.
 */
function planIdOf(s: Omit<MaintenancePlanSummary, 'id'>, costed: CostedPlan): string {
  const what = {
    location: s.location,
    compaction: s.compaction
      ? costed.optimize.plan.partitions
          .filter((p) => p.action !== 'skip')
          .map((p) => [p.partition, p.action, p.filesIn, p.bytesIn, p.filesOut])
      : null,
    vacuum: s.vacuum
      ? {
          retentionHours: s.vacuum.retentionHours,
          partitions: costed.vacuum.partitions.map((p) => [p.partition, p.files, p.bytes]),
          timeTravelLost: s.vacuum.timeTravelLost,
        }
      : null,
  };
  return createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 16);
}

/**
 * Whether the gated actions of a pass may run. `approvals` are the plan ids approved (the
 * operator's annotation, the CLI's `--approve`); ids that do not match the plan are reported as
 * ignored, never applied.
 */
export function approvalOf(
  mode: ApprovalMode,
  summary: MaintenancePlanSummary | null,
  approvals: readonly string[] = [],
): ApprovalState {
  const planId = summary?.id ?? null;
  const given = approvals.map((a) => a.trim()).filter((a) => a.length > 0);
  const ignored = given.filter((a) => a !== planId);
  if (mode === 'Automatic') return { mode, state: 'automatic', planId, ignoredApprovals: [] };
  if (!summary?.needsApproval) return { mode, state: 'not-needed', planId, ignoredApprovals: ignored };
  return {
    mode,
    state: given.includes(summary.id) ? 'approved' : 'awaiting',
    planId,
    ignoredApprovals: ignored,
  };
}

/** The plan in one line for people (Events, reports): what, how much, what it costs. */
export function formatPlanSummary(s: MaintenancePlanSummary, formatBytes: (n: number) => string): string {
  const parts: string[] = [];
  if (s.compaction)
    parts.push(
      `compaction rewrites ${s.compaction.filesToRewrite} files (${formatBytes(s.compaction.bytesToRewrite)}) into ${s.compaction.filesToWrite}`,
    );
  if (s.vacuum)
    parts.push(
      `vacuum deletes ${s.vacuum.filesToDelete} files (${formatBytes(s.vacuum.bytesToDelete)}), time travel lost: ${
        s.vacuum.timeTravelLost
          ? `versions ${s.vacuum.timeTravelLost.from}-${s.vacuum.timeTravelLost.to}`
          : 'none'
      }`,
    );
  if (s.checkpoint) parts.push(`checkpoint after ${s.checkpoint.commitsSinceCheckpoint} commits`);
  const r = s.requests;
  return (
    `plan ${s.id} at version ${s.version}: ${parts.join('; ')}; requests ${r.read} read, ${r.write} write, ` +
    `${r.list} list, ${r.delete} delete; about ${s.estimatedCost.toFixed(6)} ${s.currency}`
  );
}
