import * as arrow from 'apache-arrow';
import type { ObjectStore } from '../storage/object-store.js';
import { isLakehouseError } from '../errors.js';
import { corruptLog, parseActions, validateAction, type Action, type ActionName } from './actions.js';
import type { LogSegment } from './log-segment.js';
import { baseName, sidecarPath } from './log-path.js';
import { columnValues } from './arrow-rows.js';
import { type ParquetWasm, parquetWasm } from '../parquet-wasm.js';
import { prefetchOrdered } from './prefetch.js';
import { decodeRowGroup, UnsupportedCheckpointLayout } from './checkpoint-parquet.js';
import { parquetMetadataAsync, type FileMetaData } from 'hyparquet';

/**
 * Read the actions of a checkpoint: classic single-file, multi-part (parts read in parallel) and V2
 * (UUID-named JSON or Parquet, or classic with a `checkpointMetadata` row) with its sidecars. Yields
 * batches (one per Parquet row group or JSON file) so a large checkpoint is never held whole.
 * Only the action columns are read; `add.stats_parsed` and `partitionValues_parsed` are dropped.
 */

/** The top-level columns of a checkpoint that log replay uses. */
const CHECKPOINT_COLUMNS: readonly ActionName[] = [
  'add',
  'remove',
  'metaData',
  'protocol',
  'txn',
  'domainMetadata',
  'checkpointMetadata',
  'sidecar',
];
const SIDECAR_COLUMNS: readonly ActionName[] = ['add', 'remove'];
/** Checkpoint rows decoded at a time: bounds memory whatever the checkpoint's size. */
const CHECKPOINT_BATCH_ROWS = 32_768;
const PARALLEL_PARTS = 4;

export interface CheckpointReadOptions {
  /** Columns to read (top-level action names). Default every action replay needs. */
  columns?: readonly ActionName[];
}

export async function* readCheckpointActions(
  store: ObjectStore,
  checkpoint: NonNullable<LogSegment['checkpoint']>,
  options: CheckpointReadOptions = {},
): AsyncGenerator<Action[]> {
  const columns = options.columns ?? CHECKPOINT_COLUMNS;
  const sidecars: Action[] = [];
  // Parts are read concurrently, a row group at a time each; batches come out in part order.
  const parts = checkpoint.parts;
  const perPart = prefetchOrdered(parts, PARALLEL_PARTS, async (part) => {
    const batches: Action[][] = [];
    const path = part.path;
    if (path.endsWith('.json')) {
      const text = await getText(store, path, 'checkpoint');
      const rest: Action[] = [];
      for (const a of parseActions(text, baseName(path))) {
        if ('sidecar' in a) sidecars.push(a);
        else rest.push(a);
      }
      batches.push(rest);
    } else {
      const read = readParquetActions(store, path, part.size || undefined, columns, { sidecars });
      for await (const batch of read) batches.push(batch);
    }
    return batches;
  });
  for await (const batches of perPart) for (const batch of batches) if (batch.length > 0) yield batch;
  if (sidecars.length > 0) {
    const files = sidecars.map((a) => (a as { sidecar: { path: string; sizeInBytes: number } }).sidecar);
    const sideColumns = columns.filter((c) => SIDECAR_COLUMNS.includes(c));
    const reads = prefetchOrdered(files, PARALLEL_PARTS, async (sc) => {
      const path = sidecarPath(decodeURIComponent(sc.path.slice(sc.path.lastIndexOf('/') + 1)));
      const out: Action[][] = [];
      for await (const batch of readParquetActions(store, path, sc.sizeInBytes || undefined, sideColumns))
        out.push(batch);
      return out;
    });
    for await (const batches of reads) for (const b of batches) yield b;
  }
}

async function getText(store: ObjectStore, path: string, what: string): Promise<string> {
  try {
    return new TextDecoder().decode(await store.get(path));
  } catch (err) {
    if (isLakehouseError(err, 'NOT_FOUND'))
      throw corruptLog(baseName(path), `${what} file is missing`, undefined, err);
    throw err;
  }
}

/**
 * Yield the actions of one checkpoint Parquet file, a row group at a time. Row groups are decoded
 * straight from their column chunks into action objects (checkpoint-parquet.ts: only the wanted
 * leaves are read, `add.stats_parsed` and `partitionValues_parsed` never); a file or row group of a
 * layout that decoder does not handle is read through parquet-wasm instead, from the first row
 * not yet yielded. Read by ranges through the store: memory is bounded by a row group.
 * `decoder: 'arrow'` reads every row group through parquet-wasm (tests compare the two).
 */
export async function* readParquetActions(
  store: ObjectStore,
  path: string,
  size: number | undefined,
  columns: readonly ActionName[],
  options: {
    decoder?: 'direct' | 'arrow';
    /** Where `sidecar` actions go instead of into the batches (V2 checkpoints list their sidecars). */
    sidecars?: Action[];
  } = {},
): AsyncGenerator<Action[]> {
  const name = baseName(path);
  let metadata: FileMetaData;
  let bytes: number;
  try {
    bytes = size ?? (await store.head(path)).size;
    const file = {
      byteLength: bytes,
      slice: async (start: number, end?: number) => {
        const b = await store.getRange(path, start, end ?? bytes);
        return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
      },
    };
    metadata = await parquetMetadataAsync(file);
  } catch (err) {
    if (isLakehouseError(err, 'NOT_FOUND'))
      throw corruptLog(name, 'checkpoint file is missing', undefined, err);
    // A failed request is not a corrupt file: the caller may retry it.
    if (isLakehouseError(err, 'STORAGE_TRANSIENT')) throw err;
    throw corruptLog(name, `not a readable Parquet file: ${(err as Error).message}`, undefined, err);
  }
  let row = 0;
  const read = async (start: number, end: number) => {
    if (end > bytes || start < 0) throw new Error(`column chunk [${start}, ${end}) outside the file`);
    return store.getRange(path, start, end);
  };
  if (options.decoder === 'arrow') {
    yield* readParquetActionsArrow(store, path, bytes, columns, metadata, 0, options.sidecars);
    return;
  }
  for (let g = 0; g < metadata.row_groups.length; g++) {
    let decoded: Map<string, unknown[]>;
    try {
      decoded = await decodeRowGroup({ metadata, rowGroup: g, columns, skip: SKIPPED_CHILDREN, read });
    } catch (err) {
      if (err instanceof UnsupportedCheckpointLayout) {
        yield* readParquetActionsArrow(store, path, bytes, columns, metadata, g, options.sidecars);
        return;
      }
      if (isLakehouseError(err)) throw err;
      throw corruptLog(
        name,
        `cannot read rows from ${row}: ${(err as Error).message ?? String(err)}`,
        undefined,
        err,
      );
    }
    const wanted = columns.filter((c) => decoded.has(c));
    const cols = wanted.map((c) => decoded.get(c)!);
    const rows = Number(metadata.row_groups[g]!.num_rows);
    yield toActions(wanted, cols, rows, name, row, options.sidecars);
    row += rows;
  }
}

/** Children of checkpoint columns replay never uses (typed copies of `stats` and `partitionValues`). */
const SKIPPED_CHILDREN: Record<string, readonly string[]> = {
  add: ['stats_parsed', 'partitionValues_parsed'],
  remove: ['stats_parsed', 'partitionValues_parsed'],
};

/** Row-major actions from column-wise bodies (null where a row holds no such action). */
function toActions(
  wanted: readonly ActionName[],
  cols: readonly (readonly unknown[] | null)[],
  rows: number,
  name: string,
  firstRow: number,
  sidecars?: Action[],
): Action[] {
  const actions: Action[] = [];
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < wanted.length; k++) {
      const body = cols[k]?.[i] as Record<string, unknown> | null | undefined;
      if (body === null || body === undefined) continue;
      const col = wanted[k]!;
      if (col === 'add' || col === 'remove') {
        delete body.stats_parsed;
        delete body.partitionValues_parsed;
      }
      // A struct whose fields are all null is how some writers spell "no action in this row".
      if (!hasValue(body)) continue;
      const problem = validateAction(col, body);
      if (problem) throw corruptLog(name, `${col}: ${problem} (row ${firstRow + i})`);
      if (col === 'sidecar' && sidecars) sidecars.push(wrap(col, body));
      else actions.push(wrap(col, body));
    }
  }
  return actions;
}

/**
 * The same through parquet-wasm and Arrow (any layout arrow-rs reads), for row groups `fromGroup`
 * onwards, CHECKPOINT_BATCH_ROWS rows at a time.
 */
async function* readParquetActionsArrow(
  store: ObjectStore,
  path: string,
  size: number,
  columns: readonly ActionName[],
  metadata: FileMetaData,
  fromGroup: number,
  sidecars?: Action[],
): AsyncGenerator<Action[]> {
  const name = baseName(path);
  const top = new Set(topLevelNames(metadata));
  const wanted = columns.filter((c) => top.has(c));
  if (wanted.length === 0) return;
  const blob = new RangeBlob(store, path, size);
  let file: ParquetWasm.ParquetFile;
  try {
    file = await parquetWasm().ParquetFile.fromFile(blob as unknown as Blob);
  } catch (err) {
    throw corruptLog(name, `not a readable Parquet file: ${describe(blob.failure ?? err)}`, undefined, err);
  }
  let row = 0;
  for (let g = 0; g < fromGroup; g++) row += Number(metadata.row_groups[g]!.num_rows);
  const groups = metadata.row_groups.map((_, g) => g).filter((g) => g >= fromGroup);
  try {
    const stream = (await file.stream({
      rowGroups: groups,
      columns: [...wanted],
      batchSize: CHECKPOINT_BATCH_ROWS,
    })) as ReadableStream<ParquetWasm.RecordBatch>;
    const reader = stream.getReader();
    for (;;) {
      let batch: arrow.RecordBatch | undefined;
      try {
        const next = await reader.read();
        if (next.done) break;
        batch = arrow.tableFromIPC(next.value.intoIPCStream()).batches[0];
      } catch (err) {
        throw corruptLog(
          name,
          `cannot read rows from ${row}: ${describe(blob.failure ?? err)}`,
          undefined,
          err,
        );
      }
      if (!batch) continue;
      const cols = wanted.map((col) => {
        const child = batch.getChild(col);
        return child ? columnValues(child.data[0]!) : null;
      });
      yield toActions(wanted, cols, batch.numRows, name, row, sidecars);
      row += batch.numRows;
    }
  } finally {
    file.free();
  }
}

function describe(err: unknown): string {
  return String((err as Error)?.message ?? err);
}

function topLevelNames(metadata: FileMetaData): string[] {
  const out: string[] = [];
  const schema = metadata.schema;
  let at = 1;
  const skipTree = () => {
    const el = schema[at++]!;
    for (let i = 0; i < (el.num_children ?? 0); i++) skipTree();
  };
  for (let i = 0; i < (schema[0]?.num_children ?? 0); i++) {
    out.push(schema[at]!.name);
    skipTree();
  }
  return out;
}

/**
 * A Blob-like view of a stored object for parquet-wasm, each slice one ranged read. A failed read
 * must never reject inside parquet-wasm (that aborts the WebAssembly instance): it hands back
 * zeros, which the decoder rejects as a normal error, and keeps the cause in `failure`.
 */
class RangeBlob {
  failure: unknown;

  constructor(
    private readonly store: ObjectStore,
    private readonly path: string,
    readonly size: number,
  ) {}

  slice(start: number, end: number): { arrayBuffer(): Promise<ArrayBuffer> } {
    const s = Math.max(0, Math.floor(start));
    const e = Math.min(this.size, Math.floor(end));
    return {
      arrayBuffer: async () => {
        try {
          const b = await this.store.getRange(this.path, s, e);
          if (b.byteLength !== e - s) throw new Error(`short read at ${s}`);
          return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
        } catch (err) {
          this.failure ??= err;
          return new ArrayBuffer(Math.max(0, e - s));
        }
      },
    };
  }
}

/** `{ [name]: body }`, with a literal key for the common actions (keeps V8's objects fast). */
function wrap(name: ActionName, body: Record<string, unknown>): Action {
  switch (name) {
    case 'add':
      return { add: body } as unknown as Action;
    case 'remove':
      return { remove: body } as unknown as Action;
    default:
      return { [name]: body } as Action;
  }
}

function hasValue(o: Record<string, unknown>): boolean {
  for (const k in o) if (o[k] !== null && o[k] !== undefined) return true;
  return false;
}
