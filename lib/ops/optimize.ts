import { randomUUID } from 'node:crypto';
import * as os from 'node:os';
import type { RecordBatch } from 'apache-arrow';
import { type AddAction, dataFilePath, removeFor } from '../delta/actions.js';
import { assertWritable } from '../delta/features.js';
import { physicalName, type StructField } from '../delta/schema.js';
import { Snapshot } from '../delta/snapshot.js';
import { Transaction } from '../delta/transaction.js';
import { takeBatch } from '../data/arrow-build.js';
import { type Expr, formatFilter, parseFilter, referencedColumns } from '../data/expr.js';
import { fileTruth, onlyPartitionColumns, parseStats, T } from '../data/expr-eval.js';
import type { ParquetCompression } from '../data/parquet-io.js';
import { readDataFile, type TableLayout } from '../data/reader.js';
import { arrowBytes, DataFileWriter } from '../data/writer.js';
import { isLakehouseError, LakehouseError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import { minFileSize as defaultMinFileSize, OPS_DEFAULTS } from './defaults.js';
import { tableLayout } from './rewrite.js';
import { bitsPerColumn, clusteringScore, ColumnSampler, zValues } from './zorder.js';

/**
 * OPTIMIZE: rewrite the small files of each partition into files near a target size
 * (compaction), or cluster a partition's rows by a Z-order curve over some columns so that
 * statistics skip files for predicates on them (`zOrderBy`).
 *
 * What is rewritten (incremental: a second run over an optimized table rewrites nothing):
 * - Compaction: per partition, the "small" files (below `minFileSize`, default 3/4 of the target)
 *   and files carrying a deletion vector are bin-packed, smallest first, into bins of at most
 *   `targetFileSize` bytes. A bin of one file (without a deletion vector) has nothing to gain and
 *   is skipped, and so is a partition with fewer than two small files.
 * - Z-order: a partition is rewritten whole when it was never Z-ordered by these columns (and has
 *   two files or more), or when files added since (those without the `ZCUBE_ZORDER_BY` tag of
 *   these columns) worsened its clustering — the overlap of the files' min/max boxes on the
 *   Z-order columns (`clusteringScore`) — by more than `zOrderTolerance`. Otherwise only its new
 *   small files are compacted. Output files carry the tags `ZCUBE_ID`, `ZCUBE_ZORDER_BY`,
 *   `ZCUBE_ZORDER_CURVE` as Spark's do.
 * - `where` (partition columns only) limits the partitions considered.
 *
 * Safety:
 * - New files are written first; commits then remove the inputs and add the outputs, all with
 *   `dataChange: false` (readers' results are unchanged; appends never conflict with it). A crash
 *   leaves only unreferenced files, which VACUUM removes.
 * - Each commit reads exactly the files it removes: a concurrent DELETE/UPDATE/OPTIMIZE that
 *   removed one of them wins; the bins that read such a file are dropped (their new files
 *   deleted) and the others commit.
 * - Yielding to live writers: with `commitEvery` N, progress is committed every N bins. When a
 *   commit loses races beyond the transaction's retries, it backs off (exponential, jittered),
 *   rebases on the newest snapshot and tries again, up to `maxCommitAttempts` times.
 * - Memory: data is streamed file by file. With `memoryLimit`, the plan lowers the concurrency,
 *   then caps the size of the files it writes (splitting bins), so that the estimated peak stays
 *   under the limit; when even that cannot fit — or a Z-order partition's sort keys (16 bytes per
 *   row) cannot — it refuses up front (MEMORY_LIMIT) with the estimate and what to change.
 *
 * Conflicts with other transactions, versions and metrics are as in Spark and delta-rs: the commit
 * operation is `OPTIMIZE`, parameters `predicate` and `zOrderBy` (JSON text), metrics
 * `numFilesAdded`, `numFilesRemoved`, `filesAdded`/`filesRemoved` ({min,max,avg,totalFiles,
 * totalSize}), `partitionsOptimized`, `numBatches`, `totalConsideredFiles`, `totalFilesSkipped`.
 */
export interface OptimizeOptions {
  /** Bytes each output file aims for. Default 128 MiB (`OPS_DEFAULTS.targetFileSize`). */
  targetFileSize?: number;
  /** Files at or above this size are left alone. Default 3/4 of `targetFileSize`. */
  minFileSize?: number;
  /** Only partitions this predicate (on partition columns only) selects. Default all. */
  where?: string | Expr;
  /** Z-order by these data columns. Default none (compaction). */
  zOrderBy?: readonly string[];
  /** A Z-ordered partition is rewritten when new files raise its clustering score by more than this. Default 0.1. */
  zOrderTolerance?: number;
  /** Plan only: return the plan, write and commit nothing. Default false. */
  dryRun?: boolean;
  /** Bins rewritten at the same time. Default 1. */
  concurrency?: number;
  /** Commit after every N bins (0: one commit at the end). Default 0. */
  commitEvery?: number;
  /** Peak memory (bytes) the process may reach; default none. */
  memoryLimit?: number;
  /** Codec of the new files. Default snappy. */
  compression?: ParquetCompression;
  /** Rebases of one commit after lost races before giving up. Default 50. */
  maxCommitAttempts?: number;
  /** Called after each bin is written (bins done, bins planned); awaited before the next step. */
  onProgress?: (done: number, total: number) => void | Promise<void>;
  /** Extra commitInfo fields. */
  commitInfo?: Record<string, unknown>;
}

export interface FileSizeMetrics {
  min: number;
  max: number;
  avg: number;
  totalFiles: number;
  totalSize: number;
}

/** The plan for one partition. */
export interface PartitionPlan {
  /** `col=value/…`, or `(table)` when the table is not partitioned. */
  partition: string;
  partitionValues: Record<string, string | null>;
  action: 'compact' | 'zorder' | 'skip';
  /** Why, in words (e.g. "1 small file: nothing to gain"). */
  reason: string;
  /** Files and bytes this partition's rewrite reads and removes. */
  filesIn: number;
  bytesIn: number;
  /** Estimated files and bytes written. */
  filesOut: number;
  bytesOut: number;
  bins: number;
  /** Z-order only: clustering score of the already clustered files, and of all files now. */
  clustering?: { clustered: number; now: number };
}

export interface OptimizePlan {
  version: number;
  targetFileSize: number;
  minFileSize: number;
  /** The size files are written at: the target, or less when the memory limit caps it. */
  outputFileSize: number;
  concurrency: number;
  commitEvery: number;
  zOrderBy: string[];
  predicate: string | null;
  partitions: PartitionPlan[];
  numBins: number;
  totalConsideredFiles: number;
  totalFilesSkipped: number;
  /** Estimated peak memory of the run (bytes), including what the process already uses. */
  estimatedPeakMemory: number;
  memoryLimit: number | null;
}

export interface OptimizeMetrics {
  /** The last version committed (the snapshot's version when nothing was committed). */
  version: number;
  /** The versions of the OPTIMIZE commits, in order. */
  commits: number[];
  dryRun: boolean;
  numFilesAdded: number;
  numFilesRemoved: number;
  filesAdded: FileSizeMetrics;
  filesRemoved: FileSizeMetrics;
  partitionsOptimized: number;
  /** Record batches read. */
  numBatches: number;
  totalConsideredFiles: number;
  totalFilesSkipped: number;
  preserveInsertionOrder: boolean;
  /** Rows read and written (equal unless a bug). */
  numRowsRewritten: number;
  /** Concurrent commits our commits lost a race to and were checked against (no conflict). */
  numConflictsResolved: number;
  /** Commits that lost a race beyond the transaction's retries and were rebased. */
  numRebases: number;
  /** Bins dropped because a concurrent commit removed one of their files. */
  numBinsDropped: number;
  executionTimeMs: number;
  plan: OptimizePlan;
}

/** Peak bytes while writing a file, per Parquet byte written: Arrow buffers, IPC copy, WebAssembly table, encoded bytes. */
export const WRITE_BYTES_PER_PARQUET_BYTE = 12;
/** Arrow bytes per Parquet byte, for estimates before any data is read. */
export const ARROW_BYTES_PER_PARQUET_BYTE = 3;
/** Bytes per row of a Z-ordered partition: Z-value (8), its sorted copy while sorting (8), output file (4). */
export const ZORDER_KEY_BYTES_PER_ROW = 20;
/** Reserved for reading: decoded row groups and batches in flight. */
export const READ_MARGIN_BYTES = 96 * 1024 * 1024;
/** Share of the memory limit kept free for garbage not yet collected. */
export const GC_HEADROOM = 0.1;
/** The smallest file worth writing under a memory cap. */
const MIN_OUTPUT_FILE = 1024 * 1024;
const MIB = 1024 * 1024;

interface Bin {
  partition: PartitionPlan;
  kind: 'compact' | 'zorder';
  files: AddAction[];
  bytes: number;
  rows: number;
  /** Size of the files this bin writes (Z-order: after its sort keys are counted). */
  fileSize: number;
}

interface PlanInternal {
  plan: OptimizePlan;
  bins: Bin[];
  snapshot: Snapshot;
  zColumns: StructField[];
  predicate: Expr | undefined;
  /** Arrow bytes a writer may buffer before it must write a file. */
  writerBufferCap: number;
  /** Bytes available to one Z-order partition's passes (beyond its keys). */
  zPassBudget: number;
}

function mib(n: number): string {
  return n >= 1024 * MIB ? `${(n / (1024 * MIB)).toFixed(1)} GiB` : `${Math.ceil(n / MIB)} MiB`;
}

function liveRowsOf(add: AddAction): number | undefined {
  const n = parseStats(add.stats)?.numRecords;
  return typeof n === 'number' ? n - (add.deletionVector?.cardinality ?? 0) : undefined;
}

function sizeMetrics(sizes: number[]): FileSizeMetrics {
  if (sizes.length === 0) return { min: 0, max: 0, avg: 0, totalFiles: 0, totalSize: 0 };
  const total = sizes.reduce((s, x) => s + x, 0);
  return {
    min: Math.min(...sizes),
    max: Math.max(...sizes),
    avg: total / sizes.length,
    totalFiles: sizes.length,
    totalSize: total,
  };
}

function sameColumns(tag: string | null | undefined, columns: readonly string[]): boolean {
  if (!tag) return false;
  try {
    const cols = JSON.parse(tag) as unknown;
    return (
      Array.isArray(cols) &&
      cols.length === columns.length &&
      cols.every((c, i) => String(c).toLowerCase() === columns[i]!.toLowerCase())
    );
  } catch {
    return false;
  }
}

/**
 * Plan an OPTIMIZE on a snapshot: which partitions, which bins, at what file size and
 * concurrency. Throws INVALID_ARGUMENT for a bad predicate or Z-order column, MEMORY_LIMIT when
 * the memory limit cannot be met.
 */
export async function planOptimize(
  store: ObjectStore,
  options: OptimizeOptions = {},
  snapshot?: Snapshot,
): Promise<OptimizePlan> {
  return (await planInternal(store, options, snapshot ?? (await Snapshot.load(store)))).plan;
}

async function planInternal(
  store: ObjectStore,
  options: OptimizeOptions,
  snapshot: Snapshot,
): Promise<PlanInternal> {
  const target = options.targetFileSize ?? OPS_DEFAULTS.targetFileSize;
  if (!Number.isFinite(target) || target < 1)
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `optimize: the target file size must be positive, got ${target}`,
    );
  const minSize = options.minFileSize ?? defaultMinFileSize(target);
  const concurrencyWanted = Math.max(1, Math.floor(options.concurrency ?? 1));
  const commitEvery = Math.max(0, Math.floor(options.commitEvery ?? 0));
  const tolerance = options.zOrderTolerance ?? 0.1;
  const predicate = typeof options.where === 'string' ? parseFilter(options.where) : options.where;
  const partitionColumns = snapshot.partitionColumns;
  if (predicate && !onlyPartitionColumns(referencedColumns(predicate), partitionColumns)) {
    const bad = referencedColumns(predicate).find(
      (r) => r.length !== 1 || !partitionColumns.some((c) => c.toLowerCase() === r[0]!.toLowerCase()),
    )!;
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `optimize: --where may only use partition columns (${partitionColumns.join(', ') || 'the table has none'}); ` +
        `${bad.join('.')} is not one`,
    );
  }
  const mode = snapshot.columnMappingMode;
  const zColumns: StructField[] = (options.zOrderBy ?? []).map((name) => {
    const f =
      snapshot.schema.fields.find((x) => x.name === name) ??
      snapshot.schema.fields.find((x) => x.name.toLowerCase() === name.toLowerCase());
    if (!f)
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `optimize: no column ${name} to Z-order by; columns are ${snapshot.schema.fields.map((x) => x.name).join(', ')}`,
      );
    if (partitionColumns.some((c) => c.toLowerCase() === f.name.toLowerCase()))
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `optimize: ${f.name} is a partition column; Z-order by data columns only (each partition is clustered separately)`,
      );
    if (typeof f.type !== 'string' || f.type === 'binary')
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `optimize: cannot Z-order by ${f.name} of type ${typeof f.type === 'string' ? f.type : f.type.type}; use numeric, decimal, string, date, timestamp or boolean columns`,
      );
    return f;
  });
  if (new Set(zColumns.map((f) => f.name)).size !== zColumns.length)
    throw new LakehouseError('INVALID_ARGUMENT', 'optimize: list each Z-order column once');
  const zNames = zColumns.map((f) => f.name);
  const zPhysical = zColumns.map((f) => physicalName(f, mode));
  const table = { schema: snapshot.schema, partitionColumns, mode };

  // ---- group the active files by partition (keyed by physical names under column mapping)
  const partitionKeys = partitionColumns.map((c) => {
    const f = snapshot.schema.fields.find((x) => x.name.toLowerCase() === c.toLowerCase());
    return f ? physicalName(f, mode) : c;
  });
  const groups = new Map<string, { values: Record<string, string | null>; files: AddAction[] }>();
  for (const add of snapshot.activeFilesIterator()) {
    const key = JSON.stringify(partitionKeys.map((k) => add.partitionValues[k] ?? null));
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { values: add.partitionValues, files: [] }));
    g.files.push(add);
  }
  const sortedGroups = [...groups.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

  // ---- memory: concurrency first, then the size of the files written
  const baseline = process.memoryUsage().rss;
  const limit = options.memoryLimit;
  let concurrency = concurrencyWanted;
  let outputFileSize = target;
  let available = Infinity;
  if (limit !== undefined) {
    // 10% of the limit is headroom for garbage the collector has not reclaimed yet.
    available = limit * (1 - GC_HEADROOM) - baseline - READ_MARGIN_BYTES;
    const perBinFileSize = (c: number): number => available / c / WRITE_BYTES_PER_PARQUET_BYTE;
    if (zColumns.length > 0) concurrency = 1;
    while (concurrency > 1 && perBinFileSize(concurrency) < target) concurrency--;
    outputFileSize = Math.min(target, Math.floor(perBinFileSize(concurrency)));
    if (outputFileSize < Math.min(MIN_OUTPUT_FILE, target)) {
      const need =
        (baseline + READ_MARGIN_BYTES + MIN_OUTPUT_FILE * WRITE_BYTES_PER_PARQUET_BYTE) / (1 - GC_HEADROOM);
      throw new LakehouseError(
        'MEMORY_LIMIT',
        `optimize: --memory-limit ${mib(limit)} is too small: this process already uses ${mib(baseline)}, reading needs ` +
          `about ${mib(READ_MARGIN_BYTES)}, writing even a 1 MiB file about ${mib(MIN_OUTPUT_FILE * WRITE_BYTES_PER_PARQUET_BYTE)}, ` +
          `and ${GC_HEADROOM * 100}% is kept free for garbage collection; raise --memory-limit to at least ${mib(need)}`,
      );
    }
  }
  const softBudget = Math.min(os.totalmem() / 2, 4 * 1024 * MIB);

  const partitions: PartitionPlan[] = [];
  const bins: Bin[] = [];
  let considered = 0;
  let skippedFiles = 0;
  let peakZKeys = 0;
  for (const [, g] of sortedGroups) {
    const label = partitionColumns.length
      ? partitionColumns.map((c, i) => `${c}=${g.values[partitionKeys[i]!] ?? 'null'}`).join('/')
      : '(table)';
    if (predicate && !(fileTruth(predicate, table, { partitionValues: g.values, stats: null }) & T)) continue;
    considered += g.files.length;
    const part: PartitionPlan = {
      partition: label,
      partitionValues: g.values,
      action: 'skip',
      reason: '',
      filesIn: 0,
      bytesIn: 0,
      filesOut: 0,
      bytesOut: 0,
      bins: 0,
    };
    partitions.push(part);
    let compactFrom = g.files;
    if (zColumns.length > 0) {
      const clustered = g.files.filter((f) => sameColumns(f.tags?.ZCUBE_ZORDER_BY, zNames));
      const fresh = g.files.filter((f) => !sameColumns(f.tags?.ZCUBE_ZORDER_BY, zNames));
      let rewrite = false;
      if (fresh.length === 0) {
        part.reason = `already Z-ordered by ${zNames.join(', ')}`;
      } else if (clustered.length === 0) {
        rewrite = g.files.length >= 2 || g.files[0]!.size > target;
        part.reason = rewrite ? 'never Z-ordered by these columns' : 'one file: nothing to gain';
      } else {
        const before = clusteringScore(clustered, zPhysical);
        const now = clusteringScore(g.files, zPhysical);
        part.clustering = { clustered: before, now };
        rewrite = now - before > tolerance;
        part.reason = rewrite
          ? `${fresh.length} new file(s) worsened clustering from ${before.toFixed(2)} to ${now.toFixed(2)}`
          : `clustering ${now.toFixed(2)} (was ${before.toFixed(2)}): within tolerance`;
      }
      if (rewrite) {
        const bytes = g.files.reduce((s, f) => s + f.size, 0);
        const rows = g.files.reduce((s, f) => s + (liveRowsOf(f) ?? Math.ceil(f.size / 8)), 0);
        const keys = rows * ZORDER_KEY_BYTES_PER_ROW;
        // Files are written at the size what is left after the keys allows.
        const fileSize =
          limit === undefined
            ? outputFileSize
            : Math.min(outputFileSize, Math.floor((available - keys) / WRITE_BYTES_PER_PARQUET_BYTE));
        if (limit !== undefined && fileSize < Math.min(MIN_OUTPUT_FILE, outputFileSize)) {
          const oneFile = MIN_OUTPUT_FILE * WRITE_BYTES_PER_PARQUET_BYTE;
          const need = (baseline + READ_MARGIN_BYTES + keys + oneFile) / (1 - GC_HEADROOM);
          throw new LakehouseError(
            'MEMORY_LIMIT',
            `optimize: Z-ordering partition ${label} needs about ${mib(need)}: ${rows} rows × ${ZORDER_KEY_BYTES_PER_ROW} bytes ` +
              `of sort keys (${mib(keys)}), ${mib(oneFile)} to write a 1 MiB file, ${mib(READ_MARGIN_BYTES)} to read and ` +
              `${mib(baseline)} this process already uses, plus ${GC_HEADROOM * 100}% headroom; --memory-limit is ${mib(limit!)}. Raise --memory-limit to at ` +
              `least ${mib(need)}, partition the table more finely, or compact without --zorder-by`,
          );
        }
        peakZKeys = Math.max(peakZKeys, keys + Math.min(fileSize, bytes) * WRITE_BYTES_PER_PARQUET_BYTE);
        part.action = 'zorder';
        part.filesIn = g.files.length;
        part.bytesIn = bytes;
        part.bytesOut = bytes;
        part.filesOut = Math.max(1, Math.ceil(bytes / fileSize));
        part.bins = 1;
        bins.push({ partition: part, kind: 'zorder', files: g.files, bytes, rows, fileSize });
        continue;
      }
      compactFrom = fresh;
    }

    // ---- compaction: bin-pack the small files (and files with deletion vectors)
    const candidates = compactFrom
      .filter((f) => f.size < minSize || f.deletionVector)
      .sort((a, b) => a.size - b.size || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    skippedFiles += g.files.length - candidates.length;
    const binCap = outputFileSize;
    const packed: AddAction[][] = [];
    let cur: AddAction[] = [];
    let curBytes = 0;
    for (const f of candidates) {
      if (cur.length > 0 && curBytes + f.size > binCap) {
        packed.push(cur);
        cur = [];
        curBytes = 0;
      }
      cur.push(f);
      curBytes += f.size;
    }
    if (cur.length) packed.push(cur);
    const worth = packed.filter((b) => b.length >= 2 || b.some((f) => f.deletionVector));
    for (const b of packed) if (!worth.includes(b)) skippedFiles += b.length;
    if (worth.length === 0) {
      if (!part.reason)
        part.reason =
          candidates.length < 2
            ? `${candidates.length} small file(s): nothing to gain`
            : 'no two small files fit together in the target size';
      else part.reason += `; ${candidates.length} small new file(s): nothing to compact`;
      continue;
    }
    part.action = 'compact';
    if (!part.reason) part.reason = `${candidates.length} small file(s)`;
    for (const b of worth) {
      const bytes = b.reduce((s, f) => s + f.size, 0);
      part.filesIn += b.length;
      part.bytesIn += bytes;
      part.bytesOut += bytes;
      part.filesOut += 1;
      part.bins++;
      bins.push({
        partition: part,
        kind: 'compact',
        files: b,
        bytes,
        rows: b.reduce((s, f) => s + (liveRowsOf(f) ?? 0), 0),
        fileSize: outputFileSize,
      });
    }
  }

  const largestBin = Math.max(0, ...bins.filter((b) => b.kind === 'compact').map((b) => b.bytes));
  const perBinPeak = Math.min(outputFileSize, largestBin) * WRITE_BYTES_PER_PARQUET_BYTE;
  const estimatedPeakMemory =
    baseline +
    READ_MARGIN_BYTES +
    Math.max(perBinPeak * Math.min(concurrency, Math.max(1, bins.length)), peakZKeys);
  const plan: OptimizePlan = {
    version: snapshot.version,
    targetFileSize: target,
    minFileSize: minSize,
    outputFileSize,
    concurrency,
    commitEvery,
    zOrderBy: zNames,
    predicate: predicate ? formatFilter(predicate) : null,
    partitions,
    numBins: bins.length,
    totalConsideredFiles: considered,
    totalFilesSkipped: skippedFiles,
    estimatedPeakMemory,
    memoryLimit: limit ?? null,
  };
  const writerBufferCap =
    limit === undefined
      ? Math.max(512 * MIB, target * 8)
      : Math.max(MIN_OUTPUT_FILE, Math.floor((outputFileSize * WRITE_BYTES_PER_PARQUET_BYTE) / 4));
  const zPassBudget = limit === undefined ? softBudget : available;
  return { plan, bins, snapshot, zColumns, predicate, writerBufferCap, zPassBudget };
}

interface BinResult {
  bin: Bin;
  adds: AddAction[];
  rowsRead: number;
  rowsWritten: number;
  batches: number;
}

/** Run OPTIMIZE (see the module doc). */
export async function optimize(store: ObjectStore, options: OptimizeOptions = {}): Promise<OptimizeMetrics> {
  const started = Date.now();
  const first = await Snapshot.load(store);
  assertWritable(first.protocol, first.metadata, { removesData: false });
  const internal = await planInternal(store, options, first);
  const { plan, bins } = internal;
  const metrics: OptimizeMetrics = {
    version: first.version,
    commits: [],
    dryRun: Boolean(options.dryRun),
    numFilesAdded: 0,
    numFilesRemoved: 0,
    filesAdded: sizeMetrics([]),
    filesRemoved: sizeMetrics([]),
    partitionsOptimized: 0,
    numBatches: 0,
    totalConsideredFiles: plan.totalConsideredFiles,
    totalFilesSkipped: plan.totalFilesSkipped,
    preserveInsertionOrder: false,
    numRowsRewritten: 0,
    numConflictsResolved: 0,
    numRebases: 0,
    numBinsDropped: 0,
    executionTimeMs: 0,
    plan,
  };
  if (options.dryRun || bins.length === 0) {
    metrics.executionTimeMs = Date.now() - started;
    return metrics;
  }

  const layout = tableLayout(store, first);
  const runId = randomUUID();
  const added: number[] = [];
  const removed: number[] = [];
  const partitionsDone = new Set<PartitionPlan>();
  let latest = first;
  let pending: BinResult[] = [];
  let commitChain: Promise<void> = Promise.resolve();
  let failure: unknown;
  let done = 0;

  const commitResults = async (results: BinResult[]): Promise<void> => {
    let live = results;
    for (let attempt = 1; ; attempt++) {
      latest = await latest.update();
      const keep = live.filter((r) => r.bin.files.every((f) => latest.hasFile(f)));
      const dropped = live.filter((r) => !keep.includes(r));
      if (dropped.length) {
        metrics.numBinsDropped += dropped.length;
        // Never committed, so nobody reads them: delete now rather than leave them for VACUUM.
        await store
          .deleteMany(dropped.flatMap((r) => r.adds.map((a) => dataFilePath(a.path))))
          .catch(() => {});
      }
      live = keep;
      if (live.length === 0) return;
      const inputs = live.flatMap((r) => r.bin.files);
      const outputs = live.flatMap((r) => r.adds);
      const now = Date.now();
      const tx = new Transaction(store, latest, {
        operation: 'OPTIMIZE',
        operationParameters: {
          predicate: JSON.stringify(internal.predicate ? [formatFilter(internal.predicate)] : []),
          zOrderBy: JSON.stringify(plan.zOrderBy),
          targetSize: String(plan.targetFileSize),
        },
        operationMetrics: commitMetrics(live, plan),
        readFiles: inputs.map((f) => f.path),
        isBlindAppend: false,
        maxRetries: 10,
        ...(options.commitInfo ? { commitInfo: options.commitInfo } : {}),
      });
      tx.addActions([
        ...inputs.map((f) => ({ remove: removeFor(f, { dataChange: false, deletionTimestamp: now }) })),
        ...outputs.map((add) => ({ add })),
      ]);
      try {
        const r = await tx.commit();
        metrics.commits.push(r.version);
        metrics.numConflictsResolved += r.conflictsResolved;
        metrics.version = r.version;
        for (const f of inputs) removed.push(f.size);
        for (const a of outputs) added.push(a.size);
        for (const x of live) {
          partitionsDone.add(x.bin.partition);
          metrics.numRowsRewritten += x.rowsWritten;
        }
        return;
      } catch (err) {
        const retryable =
          isLakehouseError(err, 'CONCURRENT_MODIFICATION') ||
          isLakehouseError(err, 'CONCURRENT_DELETE_READ') ||
          isLakehouseError(err, 'CONCURRENT_DELETE_DELETE');
        if (!retryable || attempt >= (options.maxCommitAttempts ?? 50)) throw err;
        metrics.numRebases++;
        // Back off so a busy ingest gets through, then rebase on the newest snapshot.
        const delay = Math.min(5000, 50 * 2 ** Math.min(attempt, 7)) * (0.5 + Math.random());
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  };

  const enqueueCommit = (results: BinResult[]): void => {
    commitChain = commitChain.then(() => commitResults(results));
    commitChain.catch((err) => {
      failure ??= err;
    });
  };

  let next = 0;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < bins.length) {
      const bin = bins[next++]!;
      const result =
        bin.kind === 'zorder'
          ? await zorderBin(store, layout, internal, bin, options, runId)
          : await compactBin(store, layout, internal, bin, options);
      metrics.numBatches += result.batches;
      if (result.rowsRead !== result.rowsWritten)
        throw new LakehouseError(
          'INTERNAL',
          `optimize: internal error: read ${result.rowsRead} rows from partition ${bin.partition.partition} but wrote ${result.rowsWritten}`,
        );
      done++;
      await options.onProgress?.(done, bins.length);
      pending.push(result);
      if (plan.commitEvery > 0 && pending.length >= plan.commitEvery) {
        const batch = pending;
        pending = [];
        enqueueCommit(batch);
      }
    }
  };
  const outcomes = await Promise.allSettled(
    Array.from({ length: Math.min(plan.concurrency, bins.length) }, worker),
  );
  for (const o of outcomes) if (o.status === 'rejected') failure ??= o.reason;
  if (failure === undefined && pending.length) enqueueCommit(pending);
  await commitChain.catch(() => {});
  if (failure !== undefined) throw failure;

  metrics.numFilesAdded = added.length;
  metrics.numFilesRemoved = removed.length;
  metrics.filesAdded = sizeMetrics(added);
  metrics.filesRemoved = sizeMetrics(removed);
  metrics.partitionsOptimized = partitionsDone.size;
  metrics.executionTimeMs = Date.now() - started;
  return metrics;
}

/**
 * operationMetrics of one commit: delta-rs's names plus Spark's counters, every value a string
 * (objects as JSON text), because Spark reads operationMetrics as a map of strings.
 */
function commitMetrics(results: BinResult[], plan: OptimizePlan): Record<string, string> {
  const inSizes = results.flatMap((r) => r.bin.files.map((f) => f.size));
  const outSizes = results.flatMap((r) => r.adds.map((a) => a.size));
  const filesAdded = sizeMetrics(outSizes);
  const filesRemoved = sizeMetrics(inSizes);
  const metrics: Record<string, unknown> = {
    numFilesAdded: outSizes.length,
    numFilesRemoved: inSizes.length,
    filesAdded: JSON.stringify(filesAdded),
    filesRemoved: JSON.stringify(filesRemoved),
    partitionsOptimized: new Set(results.map((r) => r.bin.partition)).size,
    numBatches: results.reduce((s, r) => s + r.batches, 0),
    totalConsideredFiles: plan.totalConsideredFiles,
    totalFilesSkipped: plan.totalFilesSkipped,
    preserveInsertionOrder: false,
    numAddedFiles: String(outSizes.length),
    numRemovedFiles: String(inSizes.length),
    numAddedBytes: String(filesAdded.totalSize),
    numRemovedBytes: String(filesRemoved.totalSize),
    minFileSize: String(filesAdded.min),
    maxFileSize: String(filesAdded.max),
  };
  return Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, String(v)]));
}

function writerFor(
  store: ObjectStore,
  internal: PlanInternal,
  options: OptimizeOptions,
  bufferCap: number,
): DataFileWriter {
  const snap = internal.snapshot;
  const numIndexed = Number(snap.properties['delta.dataSkippingNumIndexedCols'] ?? 32);
  return new DataFileWriter(store, {
    schema: snap.schema,
    partitionColumns: snap.partitionColumns,
    columnMappingMode: snap.columnMappingMode,
    compression: options.compression,
    // One file per bin (its inputs already fit the target); the buffer cap splits it only when memory demands.
    targetFileSize: Number.MAX_SAFE_INTEGER,
    maxBufferedBytes: bufferCap,
    numIndexedCols: Number.isFinite(numIndexed) ? numIndexed : 32,
    dataChange: false,
  });
}

async function compactBin(
  store: ObjectStore,
  layout: TableLayout,
  internal: PlanInternal,
  bin: Bin,
  options: OptimizeOptions,
): Promise<BinResult> {
  const writer = writerFor(store, internal, options, internal.writerBufferCap);
  let rowsRead = 0;
  let batches = 0;
  for (const f of bin.files) {
    for await (const batch of readDataFile(store, layout, f)) {
      rowsRead += batch.numRows;
      batches++;
      await writer.write(batch);
    }
  }
  const adds = await writer.finish();
  return { bin, adds, rowsRead, rowsWritten: writer.numRows, batches };
}

/**
 * Z-order one partition: (1) sample the Z columns for rank boundaries; (2) compute every row's
 * Z-value and, from their order, the output file each row goes to; (3) in as many passes as
 * memory needs, read the partition and write each output file from the rows routed to it.
 */
async function zorderBin(
  store: ObjectStore,
  layout: TableLayout,
  internal: PlanInternal,
  bin: Bin,
  options: OptimizeOptions,
  runId: string,
): Promise<BinResult> {
  const zNames = internal.zColumns.map((f) => f.name);
  const bits = bitsPerColumn(zNames.length);
  let batches = 0;

  // (1) rank boundaries from a sample
  const samplers = zNames.map(() => new ColumnSampler());
  let rows = 0;
  for (const f of bin.files) {
    for await (const b of readDataFile(store, layout, f, { columns: zNames })) {
      rows += b.numRows;
      batches++;
      b.data.children.forEach((d, c) => samplers[c]!.add(d));
    }
  }
  const rankers = samplers.map((s) => s.ranker(bits));

  // (2) Z-values, their order, and each row's output file
  const z = new Float64Array(rows);
  let at = 0;
  for (const f of bin.files) {
    for await (const b of readDataFile(store, layout, f, { columns: zNames })) {
      z.set(zValues(b.data.children, rankers, bits), at);
      at += b.numRows;
    }
  }
  const outFiles = Math.max(1, Math.ceil(bin.bytes / bin.fileSize));
  const rowsPerFile = Math.max(1, Math.ceil(rows / outFiles));
  // File boundaries are Z-value quantiles of a sorted copy (a native numeric sort: no callback
  // per comparison, no boxing); each row's file is then found by binary search. Rows with equal
  // Z-values share a file.
  const bounds = new Float64Array(outFiles - 1);
  {
    const sorted = Float64Array.from(z).sort();
    for (let j = 1; j < outFiles; j++) bounds[j - 1] = sorted[Math.floor((j * rows) / outFiles)]!;
  }
  const fileOf = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) {
    let lo = 0;
    let hi = bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bounds[mid]! <= z[i]!) lo = mid + 1;
      else hi = mid;
    }
    fileOf[i] = lo;
  }

  // (3) passes over the partition, each writing the output files that fit in memory together
  // A pass holds its files' rows (Arrow) while one of them is being written (its extra copies).
  const perFile = bin.bytes / outFiles;
  const budget = Math.max(0, internal.zPassBudget - rows * ZORDER_KEY_BYTES_PER_ROW);
  const writing = perFile * (WRITE_BYTES_PER_PARQUET_BYTE - ARROW_BYTES_PER_PARQUET_BYTE);
  let filesPerPass = Math.max(
    1,
    Math.floor((budget - writing) / Math.max(1, perFile * ARROW_BYTES_PER_PARQUET_BYTE)),
  );
  const tags = {
    ZCUBE_ID: runId,
    ZCUBE_ZORDER_BY: JSON.stringify(zNames),
    ZCUBE_ZORDER_CURVE: 'zorder',
  };
  const adds: AddAction[] = [];
  let rowsWritten = 0;
  let measured: number | undefined;
  for (let lo = 0; lo < outFiles; lo += filesPerPass) {
    if (measured !== undefined) {
      // After the first pass, size the others by the Arrow bytes per row actually read.
      const perFileArrow = Math.max(1, measured * rowsPerFile);
      filesPerPass = Math.max(1, Math.floor((budget - writing) / perFileArrow));
    }
    const hi = Math.min(outFiles, lo + filesPerPass);
    const pieces = new Map<number, RecordBatch[]>();
    let base = 0;
    let arrowRead = 0;
    for (const f of bin.files) {
      for await (const b of readDataFile(store, layout, f)) {
        batches++;
        arrowRead += arrowBytes(b.data);
        const groups = new Map<number, number[]>();
        for (let i = 0; i < b.numRows; i++) {
          const out = fileOf[base + i]!;
          if (out < lo || out >= hi) continue;
          let g = groups.get(out);
          if (!g) groups.set(out, (g = []));
          g.push(i);
        }
        base += b.numRows;
        for (const [out, idx] of groups) {
          // Sort within the piece by Z-value too, so row groups cluster as well.
          idx.sort((x, y) => z[base - b.numRows + x]! - z[base - b.numRows + y]!);
          let list = pieces.get(out);
          if (!list) pieces.set(out, (list = []));
          list.push(idx.length === b.numRows && idx.every((v, k) => v === k) ? b : takeBatch(b, idx));
        }
      }
    }
    measured ??= arrowRead / Math.max(1, rows);
    for (let out = lo; out < hi; out++) {
      const list = pieces.get(out);
      pieces.delete(out);
      if (!list?.length) continue;
      const writer = writerFor(store, internal, options, Number.MAX_SAFE_INTEGER);
      for (const b of list) await writer.write(b);
      list.length = 0;
      for (const a of await writer.finish()) adds.push({ ...a, tags: { ...a.tags, ...tags } });
      rowsWritten += writer.numRows;
    }
  }
  return { bin, adds, rowsRead: rows, rowsWritten, batches };
}
