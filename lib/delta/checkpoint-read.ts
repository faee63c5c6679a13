import { parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import type { ObjectStore } from '../storage/object-store.js';
import { isLakehouseError } from '../errors.js';
import { corruptLog, parseActions, validateAction, type Action, type ActionName } from './actions.js';
import type { LogSegment } from './log-segment.js';
import { baseName, sidecarPath } from './log-path.js';
import { storeAsyncBuffer } from './parquet-source.js';
import { prefetchOrdered } from './prefetch.js';

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
      batches.push(parseActions(text, baseName(path)));
    } else {
      for await (const batch of readParquetActions(store, path, part.size || undefined, columns))
        batches.push(batch);
    }
    return batches;
  });
  for await (const batches of perPart) {
    for (const batch of batches) {
      const rest: Action[] = [];
      for (const a of batch) {
        if ('sidecar' in a) sidecars.push(a);
        else rest.push(a);
      }
      if (rest.length > 0) yield rest;
    }
  }
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

/** Yield the actions of one checkpoint Parquet file, a row group at a time. */
export async function* readParquetActions(
  store: ObjectStore,
  path: string,
  size: number | undefined,
  columns: readonly ActionName[],
): AsyncGenerator<Action[]> {
  const name = baseName(path);
  let file;
  let metadata;
  try {
    file = await storeAsyncBuffer(store, path, size);
    metadata = await parquetMetadataAsync(file);
  } catch (err) {
    if (isLakehouseError(err, 'NOT_FOUND'))
      throw corruptLog(name, 'checkpoint file is missing', undefined, err);
    throw corruptLog(name, `not a readable Parquet file: ${(err as Error).message}`, undefined, err);
  }
  const present = new Set(parquetSchema(metadata).children.map((c) => c.element.name));
  const wanted = columns.filter((c) => present.has(c));
  if (wanted.length === 0) return;
  let rowStart = 0;
  for (const rg of metadata.row_groups) {
    const rowEnd = rowStart + Number(rg.num_rows);
    let rows;
    try {
      rows = await parquetReadObjects({ file, metadata, columns: wanted, rowStart, rowEnd, compressors });
    } catch (err) {
      throw corruptLog(
        name,
        `cannot read rows ${rowStart}-${rowEnd}: ${(err as Error).message}`,
        undefined,
        err,
      );
    }
    rowStart = rowEnd;
    const actions: Action[] = [];
    for (const row of rows) {
      for (const col of wanted) {
        const v = row[col];
        if (v === null || v === undefined) continue;
        const body = normalize(v) as Record<string, unknown>;
        if (col === 'add') {
          delete body.stats_parsed;
          delete body.partitionValues_parsed;
        }
        // A struct whose fields are all null is how some writers spell "no action in this row".
        if (!hasValue(body)) continue;
        const problem = validateAction(col, body);
        if (problem) throw corruptLog(name, `${col}: ${problem}`);
        actions.push({ [col]: body } as Action);
      }
    }
    yield actions;
  }
}

function hasValue(o: Record<string, unknown>): boolean {
  for (const k in o) if (o[k] !== null && o[k] !== undefined) return true;
  return false;
}

/** Map-typed fields: their null values are data (a null partition value), not absent fields. */
const MAP_FIELDS = new Set(['partitionValues', 'tags', 'configuration', 'options']);

/** Checkpoint rows as commit JSON would have them: bigints as numbers, null struct fields dropped. */
function normalize(v: unknown, isMap = false): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => normalize(x));
  if (v instanceof Date) return v.getTime();
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined || (x === null && !isMap)) continue;
    out[k] = normalize(x, MAP_FIELDS.has(k));
  }
  return out;
}
