import * as arrow from 'apache-arrow';
import type { ObjectStore } from '../storage/object-store.js';
import { isLakehouseError } from '../errors.js';
import { corruptLog, parseActions, validateAction, type Action, type ActionName } from './actions.js';
import type { LogSegment } from './log-segment.js';
import { baseName, sidecarPath } from './log-path.js';
import { columnValues } from './arrow-rows.js';
import { ParquetSource } from '../data/parquet-io.js';
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

/**
 * Yield the actions of one checkpoint Parquet file, a batch of CHECKPOINT_BATCH_ROWS rows at a
 * time: parquet-wasm (Rust) decodes only the wanted top-level columns, reading the file by
 * ranges through the store, so memory is bounded by a batch, not by the checkpoint (a checkpoint
 * of a million files is hundreds of MB once decoded).
 */
export async function* readParquetActions(
  store: ObjectStore,
  path: string,
  size: number | undefined,
  columns: readonly ActionName[],
): AsyncGenerator<Action[]> {
  const name = baseName(path);
  let source: ParquetSource;
  let present: Set<string>;
  try {
    source = await ParquetSource.open(store, path, size);
    present = new Set(source.schema().fields.map((f) => f.name));
  } catch (err) {
    if (isLakehouseError(err, 'NOT_FOUND'))
      throw corruptLog(name, 'checkpoint file is missing', undefined, err);
    throw corruptLog(name, `not a readable Parquet file: ${(err as Error).message}`, undefined, err);
  }
  try {
    const wanted = columns.filter((c) => present.has(c));
    if (wanted.length === 0) return;
    let row = 0;
    const batches = source.batches({ columns: [...wanted], batchSize: CHECKPOINT_BATCH_ROWS });
    for (;;) {
      let next: IteratorResult<arrow.RecordBatch>;
      try {
        next = await batches.next();
      } catch (err) {
        throw corruptLog(
          name,
          `cannot read rows from ${row}: ${(err as Error).message ?? String(err)}`,
          undefined,
          err,
        );
      }
      if (next.done) break;
      const batch = next.value;
      const cols = wanted.map((col) => {
        const child = batch.getChild(col);
        return child ? columnValues(child.data[0]!) : null;
      });
      const actions: Action[] = [];
      for (let i = 0; i < batch.numRows; i++) {
        for (let k = 0; k < wanted.length; k++) {
          const body = cols[k]?.[i] as Record<string, unknown> | null | undefined;
          if (body === null || body === undefined) continue;
          const col = wanted[k];
          if (col === 'add') {
            delete body.stats_parsed;
            delete body.partitionValues_parsed;
          }
          // A struct whose fields are all null is how some writers spell "no action in this row".
          if (!hasValue(body)) continue;
          const problem = validateAction(col, body);
          if (problem) throw corruptLog(name, `${col}: ${problem} (row ${row + i})`);
          actions.push({ [col]: body } as Action);
        }
      }
      row += batch.numRows;
      yield actions;
    }
  } finally {
    source.close();
  }
}

function hasValue(o: Record<string, unknown>): boolean {
  for (const k in o) if (o[k] !== null && o[k] !== undefined) return true;
  return false;
}
