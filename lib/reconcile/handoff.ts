/**
 * Handing a large compaction to another executor instead of running it in this process. The
 * operator plugs in Kubernetes Jobs (operator/src/jobs.ts); the CLI plugs in nothing and compacts
 * in-process. This module knows nothing of Kubernetes: it plans the OPTIMIZE, measures the bytes
 * it would rewrite, and when they exceed the executor's threshold splits the partitions to
 * rewrite into ranges, each with an OPTIMIZE `where` predicate that selects exactly its
 * partitions (`lakehouse optimize --where`).
 */
import { formatFilter, type Expr, type Literal } from '../data/expr.js';
import type { PartitionPlan } from '../ops/optimize.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { CompactionRequest } from './compaction.js';

/** A slice of a handed-off compaction: consecutive partitions (in sorted order) rewritten together. */
export interface CompactionRange {
  /** 0-based position of the range. */
  readonly index: number;
  /** OPTIMIZE `where` predicate selecting exactly these partitions (canonical filter text); null: the whole table (unpartitioned). */
  readonly where: string | null;
  /** First and last partition of the range, `col=value/…` (`(table)` when unpartitioned). */
  readonly first: string;
  readonly last: string;
  readonly partitions: number;
  /** Files and bytes the range's OPTIMIZE plans to rewrite. */
  readonly files: number;
  readonly bytes: number;
}

/** A compaction given to an executor: the request, where the table is and how it was split. */
export interface CompactionHandOff {
  readonly tableName: string;
  /** The table's URI (`store.root`). */
  readonly location: string;
  /** Table version the split was planned at. */
  readonly version: number;
  readonly request: CompactionRequest;
  readonly files: number;
  readonly bytes: number;
  readonly ranges: readonly CompactionRange[];
}

/** What an executor did with a hand-off: the compaction runs elsewhere and reports its result there. */
export interface HandOffOutcome {
  /** One line for people, e.g. `3 Kubernetes Jobs started: …`. */
  readonly summary: string;
  readonly metrics?: Readonly<Record<string, number | string | null>>;
}

/**
 * Runs large compactions elsewhere. Contract: `run` returns once the work is handed over (not
 * when it is finished), is idempotent for the same table (an executor already running a
 * compaction of the table adopts it rather than starting a second one), and throws (a
 * LakehouseError) only when the hand-off itself failed.
 */
export interface CompactionExecutor {
  /** Compactions planned to rewrite more than this many bytes are handed off; the others run in-process. */
  readonly thresholdBytes: number;
  /** Bytes a range aims for. Default `thresholdBytes`. */
  readonly rangeBytes?: number;
  /** At most this many ranges; ranges grow beyond `rangeBytes` to respect it. Default 20. */
  readonly maxRanges?: number;
  /**
   * A compaction of this table handed off earlier that still holds the table (running, or failed
   * and waiting before a retry), or null. While there is one, no compaction of the table runs
   * in-process either (whatever its size), nor is one planned.
   */
  inProgress?(): HandOffOutcome | null;
  run(work: CompactionHandOff): Promise<HandOffOutcome>;
}

/**
 * Plan the compaction and decide: null when it rewrites at most `executor.thresholdBytes` (run
 * it in-process), else the hand-off with its ranges. Partitions are taken in sorted order and cut
 * into ranges of about `rangeBytes`; a partition is never split.
 */
export async function planHandOff(
  store: ObjectStore,
  request: CompactionRequest,
  executor: CompactionExecutor,
  tableName: string,
): Promise<CompactionHandOff | null> {
  // Loaded on first use: OPTIMIZE brings the Parquet and Arrow modules (operator memory).
  const { planOptimize } = await import('../ops/optimize.js');
  const p = await planOptimize(store, {
    targetFileSize: request.targetFileSizeBytes,
    minFileSize: request.minFileSizeBytes,
    ...(request.zOrderBy.length > 0 ? { zOrderBy: request.zOrderBy } : {}),
  });
  const work = p.partitions.filter((x) => x.action !== 'skip' && x.bytesIn > 0);
  const bytes = work.reduce((s, x) => s + x.bytesIn, 0);
  if (work.length === 0 || bytes <= executor.thresholdBytes) return null;
  work.sort((a, b) => (a.partition < b.partition ? -1 : a.partition > b.partition ? 1 : 0));
  const maxRanges = Math.max(1, executor.maxRanges ?? 20);
  const rangeBytes = Math.max(
    executor.rangeBytes ?? executor.thresholdBytes,
    Math.ceil(bytes / maxRanges),
    1,
  );
  const groups: PartitionPlan[][] = [];
  let current: PartitionPlan[] = [];
  let currentBytes = 0;
  for (const part of work) {
    if (current.length > 0 && currentBytes + part.bytesIn > rangeBytes && groups.length < maxRanges - 1) {
      groups.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(part);
    currentBytes += part.bytesIn;
  }
  groups.push(current);
  const unpartitioned = work.length === 1 && Object.keys(work[0]!.partitionValues).length === 0;
  return {
    tableName,
    location: store.root,
    version: p.version,
    request,
    files: work.reduce((s, x) => s + x.filesIn, 0),
    bytes,
    ranges: groups.map((g, index) => ({
      index,
      where: unpartitioned ? null : partitionPredicate(g.map((x) => x.partitionValues)),
      first: g[0]!.partition,
      last: g[g.length - 1]!.partition,
      partitions: g.length,
      files: g.reduce((s, x) => s + x.filesIn, 0),
      bytes: g.reduce((s, x) => s + x.bytesIn, 0),
    })),
  };
}

/**
 * Filter text selecting exactly the given partitions: `col IN (…)` for one partition column
 * (plus `col IS NULL` for a null partition), else an OR of one AND per partition. Values are
 * string literals; the filter converts them to each column's type.
 */
export function partitionPredicate(partitions: readonly Readonly<Record<string, string | null>>[]): string {
  const str = (value: string): Literal => ({ kind: 'string', value });
  const or = (parts: Expr[]): Expr => parts.reduce((left, right) => ({ kind: 'or', left, right }));
  const columns = Object.keys(partitions[0] ?? {});
  if (columns.length === 1) {
    const c = columns[0]!;
    const values = partitions.map((p) => p[c] ?? null);
    const present = [...new Set(values.filter((v): v is string => v !== null))];
    const parts: Expr[] = [];
    if (present.length === 1) parts.push({ kind: 'compare', op: '=', column: [c], value: str(present[0]!) });
    else if (present.length > 1) parts.push({ kind: 'in', column: [c], values: present.map(str) });
    if (values.includes(null)) parts.push({ kind: 'isNull', column: [c] });
    return formatFilter(or(parts));
  }
  return formatFilter(
    or(
      partitions.map((p) =>
        columns
          .map((c): Expr =>
            p[c] === null || p[c] === undefined
              ? { kind: 'isNull', column: [c] }
              : { kind: 'compare', op: '=', column: [c], value: str(p[c]!) },
          )
          .reduce((left, right) => ({ kind: 'and', left, right })),
      ),
    ),
  );
}
