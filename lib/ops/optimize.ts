import { randomUUID } from 'node:crypto';
import { type FileHandle, mkdtemp, open, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { type RecordBatch, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { type AddAction, dataFilePath, removeFor } from '../delta/actions.js';
import { assertWritable } from '../delta/features.js';
import { physicalName, type StructField } from '../delta/schema.js';
import { Snapshot } from '../delta/snapshot.js';
import { Transaction } from '../delta/transaction.js';
import { takeBatch } from '../data/arrow-build.js';
import { type Expr, formatFilter, parseFilter, referencedColumns } from '../data/expr.js';
import { fileTruth, onlyPartitionColumns, parseStats, T } from '../data/expr-eval.js';
import type { ParquetCompression } from '../data/parquet-io.js';
import { readDataFile, readDataFilesAhead, type TableLayout } from '../data/reader.js';
import { parquetThreads, sharedParquetPool } from '../data/parquet-workers.js';
import { arrowBytes, DataFileWriter } from '../data/writer.js';
import { isLakehouseError, LakehouseError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import { minFileSize as defaultMinFileSize, OPS_DEFAULTS } from './defaults.js';
import {
  collectGarbage,
  GC_HEADROOM,
  MIN_OUTPUT_FILE,
  READ_MARGIN_BYTES,
  WRITE_BYTES_PER_PARQUET_BYTE,
  residentBytes,
} from './memory-budget.js';
import { tableLayout } from './rewrite.js';
import { WriteLease } from '../delta/write-lease.js';
import { bitsPerColumn, clusteringScore, partOf, RowSampler, zValues } from './zorder.js';

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
 *   under the limit; when even a 1 MiB file cannot fit it refuses up front (MEMORY_LIMIT) with
 *   the estimate and what to change. A Z-order holds no per-row state: it samples the partition,
 *   routes rows to per-output-file spill files on local disk (`spillDirectory`) and writes each
 *   output file from its spill file, so a partition of any size fits the same budget.
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
  /** Bins rewritten at the same time. Default: the Parquet worker threads (`parquetThreads()`), or 1 under `memoryLimit`. */
  concurrency?: number;
  /** Commit after every N bins (0: one commit at the end). Default 0. */
  commitEvery?: number;
  /** Peak memory (bytes) the process may reach; default none. */
  memoryLimit?: number;
  /** Codec of the new files. Default snappy. */
  compression?: ParquetCompression;
  /** Z-order: folder for spill files (about the partition's Arrow size, removed after). Default the OS temp folder. */
  spillDirectory?: string;
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
  /** Z-order: bytes written to local spill files (and deleted after). */
  spilledBytes: number;
  executionTimeMs: number;
  plan: OptimizePlan;
}

export {
  ARROW_BYTES_PER_PARQUET_BYTE,
  GC_HEADROOM,
  READ_MARGIN_BYTES,
  WRITE_BYTES_PER_PARQUET_BYTE,
} from './memory-budget.js';
/** Z-order: memory of the joint row sample (65,536 rows of the Z-order columns) and its sort. */
export const ZORDER_SAMPLE_BYTES = 32 * 1024 * 1024;
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
  /** Z-order: Arrow bytes buffered for spill files before the largest buffer is flushed. */
  zSpillBufferCap: number;
  /** The run's write lease (a real run only): its files survive a concurrent short-retention VACUUM. */
  lease?: WriteLease;
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
  // Default: one bin per Parquet worker (delta-rs runs one task per core), one under a memory limit.
  const concurrencyDefault = options.memoryLimit === undefined ? Math.max(1, parquetThreads()) : 1;
  const concurrencyWanted = Math.max(1, Math.floor(options.concurrency ?? concurrencyDefault));
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
  const baseline = residentBytes();
  const limit = options.memoryLimit;
  let concurrency = concurrencyWanted;
  let outputFileSize = target;
  let available = Infinity;
  if (limit !== undefined) {
    // GC_HEADROOM of the limit is kept for garbage not yet collected and native memory.
    const zSample = zColumns.length > 0 ? ZORDER_SAMPLE_BYTES : 0;
    available = limit * (1 - GC_HEADROOM) - baseline - READ_MARGIN_BYTES - zSample;
    const perBinFileSize = (c: number): number => available / c / WRITE_BYTES_PER_PARQUET_BYTE;
    if (zColumns.length > 0) concurrency = 1;
    while (concurrency > 1 && perBinFileSize(concurrency) < target) concurrency--;
    outputFileSize = Math.min(target, Math.floor(perBinFileSize(concurrency)));
    if (outputFileSize < Math.min(MIN_OUTPUT_FILE, target)) {
      const need =
        (baseline + READ_MARGIN_BYTES + zSample + MIN_OUTPUT_FILE * WRITE_BYTES_PER_PARQUET_BYTE) /
        (1 - GC_HEADROOM);
      throw new LakehouseError(
        'MEMORY_LIMIT',
        `optimize: --memory-limit ${mib(limit)} is too small: this process already uses ${mib(baseline)}, reading needs ` +
          `about ${mib(READ_MARGIN_BYTES)}${zSample ? `, the Z-order sample ${mib(zSample)}` : ''}, writing even a 1 MiB file about ${mib(MIN_OUTPUT_FILE * WRITE_BYTES_PER_PARQUET_BYTE)}, ` +
          `and ${Math.round(GC_HEADROOM * 100)}% is kept free for garbage collection; raise --memory-limit to at least ${mib(need)}`,
      );
    }
  }

  const partitions: PartitionPlan[] = [];
  const bins: Bin[] = [];
  let considered = 0;
  let skippedFiles = 0;
  let peakZ = 0;
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
        // Rows are routed through spill files: only the sample and one output file are held. Under
        // a limit, the spill phase and the writing phase each get half of the budget: native memory
        // (allocator, WebAssembly) grown while spilling is not returned before the files are written.
        const fileSize =
          limit === undefined
            ? outputFileSize
            : Math.max(
                Math.min(MIN_OUTPUT_FILE, outputFileSize),
                Math.min(outputFileSize, Math.floor(available / 2 / WRITE_BYTES_PER_PARQUET_BYTE)),
              );
        peakZ = Math.max(
          peakZ,
          ZORDER_SAMPLE_BYTES + Math.min(fileSize, bytes) * WRITE_BYTES_PER_PARQUET_BYTE,
        );
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
    Math.max(perBinPeak * Math.min(concurrency, Math.max(1, bins.length)), peakZ);
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
  // Spill buffers plus the IPC copy of the one being flushed stay within half the budget.
  const zSpillBufferCap = limit === undefined ? 256 * MIB : Math.max(4 * MIB, Math.floor(available / 6));
  return { plan, bins, snapshot, zColumns, predicate, writerBufferCap, zSpillBufferCap };
}

interface BinResult {
  bin: Bin;
  adds: AddAction[];
  rowsRead: number;
  rowsWritten: number;
  batches: number;
  spilledBytes?: number;
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
    spilledBytes: 0,
    executionTimeMs: 0,
    plan,
  };
  if (options.dryRun || bins.length === 0) {
    metrics.executionTimeMs = Date.now() - started;
    return metrics;
  }

  const lease = new WriteLease(store, 'OPTIMIZE');
  internal.lease = lease;
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

  try {
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
        lease.assertHeld();
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
        metrics.spilledBytes += result.spilledBytes ?? 0;
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
  } finally {
    await lease.release();
  }

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
    // Under a memory limit, one file in flight: the budget counts one file being written.
    ...(internal.plan.memoryLimit !== null ? { encodeConcurrency: 1 } : {}),
    numIndexedCols: Number.isFinite(numIndexed) ? numIndexed : 32,
    dataChange: false,
    lease: internal.lease,
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
  // Without a memory limit, the next files are decoded on the Parquet workers while this one is
  // written (a budget counts one file being read, so under a limit files are read one by one).
  const pool = internal.plan.memoryLimit === null ? sharedParquetPool() : undefined;
  for await (const fileBatches of readDataFilesAhead(store, layout, bin.files, pool ? { pool } : {})) {
    for await (const batch of fileBatches) {
      rowsRead += batch.numRows;
      batches++;
      await writer.write(batch);
    }
  }
  const adds = await writer.finish();
  // The bin's batches and encoding copies are garbage now; free them before the next bin reads.
  if (internal.plan.memoryLimit !== null) collectGarbage();
  return { bin, adds, rowsRead, rowsWritten: writer.numRows, batches };
}

/** One flushed run of rows of a spill part: an Arrow IPC stream, then the rows' Z-values. */
interface SpillChunk {
  offset: number;
  ipcBytes: number;
  rows: number;
}

/**
 * Z-order one partition in bounded memory, whatever its size:
 * (1) one read of the Z-order columns feeds a joint reservoir sample of rows, which gives each
 *     column's rank boundaries and the Z-value quantiles that split the partition into output
 *     files of about `bin.fileSize` (Spark's range partitioning);
 * (2) one read of all columns routes each row by its Z-value to its output file's spill file on
 *     local disk (Arrow IPC plus the Z-values; buffers flushed largest first past a cap);
 * (3) each spill file is read back, its rows sorted by Z-value run by run, and written as the
 *     output file. Memory: the sample, one read batch, the spill buffers, one output file.
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

  // (1) a joint sample of rows: rank boundaries and output-file boundaries
  const sampler = new RowSampler();
  let rows = 0;
  for (const f of bin.files) {
    for await (const b of readDataFile(store, layout, f, { columns: zNames })) {
      rows += b.numRows;
      batches++;
      sampler.add(b.data.children);
    }
  }
  const rankers = sampler.rankers(bits);
  const outFiles = Math.max(1, Math.min(Math.ceil(bin.bytes / bin.fileSize), rows));
  const bounds = sampler.zBounds(rankers, bits, outFiles);

  // (2) route every row to its output file's spill file
  const spillRoot = await mkdtemp(path.join(options.spillDirectory ?? os.tmpdir(), 'lakehouse-zorder-'));
  try {
    const handles: (FileHandle | undefined)[] = new Array(outFiles);
    const sizes = new Array<number>(outFiles).fill(0);
    const chunks: SpillChunk[][] = Array.from({ length: outFiles }, () => []);
    const pending: { batches: RecordBatch[]; z: Float64Array[]; bytes: number }[] = Array.from(
      { length: outFiles },
      () => ({ batches: [], z: [], bytes: 0 }),
    );
    let pendingBytes = 0;
    const flush = async (part: number): Promise<void> => {
      const p = pending[part]!;
      if (p.batches.length === 0) return;
      const ipc = tableToIPC(new Table(p.batches), 'stream');
      const n = p.z.reduce((s, z) => s + z.length, 0);
      const z = new Float64Array(n);
      let at = 0;
      for (const piece of p.z) {
        z.set(piece, at);
        at += piece.length;
      }
      const h = (handles[part] ??= await open(path.join(spillRoot, `part-${part}.spill`), 'w'));
      await h.write(ipc, 0, ipc.byteLength, sizes[part]);
      await h.write(new Uint8Array(z.buffer), 0, z.byteLength, sizes[part]! + ipc.byteLength);
      chunks[part]!.push({ offset: sizes[part]!, ipcBytes: ipc.byteLength, rows: n });
      sizes[part]! += ipc.byteLength + z.byteLength;
      pendingBytes -= p.bytes;
      pending[part] = { batches: [], z: [], bytes: 0 };
    };
    const spillCap = internal.zSpillBufferCap;
    try {
      for (const f of bin.files) {
        for await (const b of readDataFile(store, layout, f)) {
          batches++;
          const zColumns = zNames.map((n) => b.getChild(n)!.data[0]!);
          const z = zValues(zColumns, rankers, bits);
          const groups = new Map<number, number[]>();
          for (let i = 0; i < b.numRows; i++) {
            const part = partOf(bounds, z[i]!);
            let g = groups.get(part);
            if (!g) groups.set(part, (g = []));
            g.push(i);
          }
          for (const [part, idx] of groups) {
            const piece = idx.length === b.numRows ? b : takeBatch(b, idx);
            const p = pending[part]!;
            p.batches.push(piece);
            p.z.push(idx.length === b.numRows ? z : Float64Array.from(idx, (i) => z[i]!));
            const bytes = arrowBytes(piece.data) + idx.length * 8;
            p.bytes += bytes;
            pendingBytes += bytes;
          }
          if (pendingBytes > spillCap) {
            while (pendingBytes > spillCap / 2) {
              let largest = 0;
              for (let k = 1; k < outFiles; k++) if (pending[k]!.bytes > pending[largest]!.bytes) largest = k;
              await flush(largest);
            }
            // The flushed pieces and their IPC copies are garbage now: free them before reading on.
            if (internal.plan.memoryLimit !== null) collectGarbage();
          }
        }
      }
      for (let part = 0; part < outFiles; part++) await flush(part);
    } finally {
      await Promise.all(handles.map((h) => h?.close()));
    }
    const spilled = sizes.reduce((s, x) => s + x, 0);

    // (3) each output file from its spill file, sorted by Z-value within each run of rows
    const tags = {
      ZCUBE_ID: runId,
      ZCUBE_ZORDER_BY: JSON.stringify(zNames),
      ZCUBE_ZORDER_CURVE: 'zorder',
    };
    const adds: AddAction[] = [];
    let rowsWritten = 0;
    for (let part = 0; part < outFiles; part++) {
      if (chunks[part]!.length === 0) continue;
      const writer = writerFor(
        store,
        internal,
        options,
        Math.min(
          internal.writerBufferCap,
          Math.max(MIN_OUTPUT_FILE, Math.floor((bin.fileSize * WRITE_BYTES_PER_PARQUET_BYTE) / 4)),
        ),
      );
      const h = await open(path.join(spillRoot, `part-${part}.spill`), 'r');
      try {
        for (const c of chunks[part]!) {
          const ipc = new Uint8Array(c.ipcBytes);
          await h.read(ipc, 0, c.ipcBytes, c.offset);
          const z = new Float64Array(c.rows);
          await h.read(new Uint8Array(z.buffer), 0, z.byteLength, c.offset + c.ipcBytes);
          let base = 0;
          for (const b of tableFromIPC(ipc).batches) {
            const order = Array.from({ length: b.numRows }, (_, i) => i);
            order.sort((x, y) => z[base + x]! - z[base + y]!);
            base += b.numRows;
            await writer.write(takeBatch(b, order));
          }
        }
      } finally {
        await h.close();
      }
      await rm(path.join(spillRoot, `part-${part}.spill`), { force: true });
      if (internal.plan.memoryLimit !== null) collectGarbage();
      for (const a of await writer.finish()) adds.push({ ...a, tags: { ...a.tags, ...tags } });
      rowsWritten += writer.numRows;
    }
    return { bin, adds, rowsRead: rows, rowsWritten, batches, spilledBytes: spilled };
  } finally {
    await rm(spillRoot, { recursive: true, force: true });
  }
}
