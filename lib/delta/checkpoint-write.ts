import type { ObjectStore } from '../storage/object-store.js';
import { readLastCheckpoint, writeLastCheckpoint } from './last-checkpoint.js';
import { classicCheckpointPath } from './log-path.js';
import { parseInterval, tableProperty } from './properties.js';
import type { Snapshot } from './snapshot.js';
import { ParquetStreamWriter, type ParquetCodec, type ParquetField } from './parquet-write.js';

/**
 * Write a classic single-file V1 checkpoint for a snapshot ("Checkpoints" and "Checkpoint Schema" in
 * PROTOCOL.md): one row per action (protocol, metaData, txn, domainMetadata, add, remove), every
 * action a nullable struct column, `add.stats` as JSON, `remove` without stats and tags, expired
 * tombstones dropped. Then `_last_checkpoint` with size, sizeInBytes, numOfAddFiles and checksum
 * (only moved forward, never back to an older checkpoint).
 */

const str = (name: string): ParquetField => ({ name, kind: 'string' });
const i64 = (name: string): ParquetField => ({ name, kind: 'int64' });
const i32 = (name: string): ParquetField => ({ name, kind: 'int32' });
const bool = (name: string): ParquetField => ({ name, kind: 'bool' });
const map = (name: string): ParquetField => ({ name, kind: 'map' });
const list = (name: string): ParquetField => ({ name, kind: 'list' });
const struct = (name: string, fields: ParquetField[]): ParquetField => ({ name, kind: 'struct', fields });
const dv = () =>
  struct('deletionVector', [
    str('storageType'),
    str('pathOrInlineDv'),
    i32('offset'),
    i32('sizeInBytes'),
    i64('cardinality'),
    i64('maxRowIndex'),
  ]);

/** The checkpoint's columns (PROTOCOL.md "Checkpoint Schema"), every field nullable. */
function checkpointSchema(withStats: boolean, withDomains: boolean): ParquetField[] {
  const fields = [
    struct('txn', [str('appId'), i64('version'), i64('lastUpdated')]),
    struct('add', [
      str('path'),
      map('partitionValues'),
      i64('size'),
      i64('modificationTime'),
      bool('dataChange'),
      ...(withStats ? [str('stats')] : []),
      map('tags'),
      dv(),
      i64('baseRowId'),
      i64('defaultRowCommitVersion'),
      str('clusteringProvider'),
    ]),
    struct('remove', [
      str('path'),
      i64('deletionTimestamp'),
      bool('dataChange'),
      bool('extendedFileMetadata'),
      map('partitionValues'),
      i64('size'),
      dv(),
      i64('baseRowId'),
      i64('defaultRowCommitVersion'),
    ]),
    struct('metaData', [
      str('id'),
      str('name'),
      str('description'),
      struct('format', [str('provider'), map('options')]),
      str('schemaString'),
      list('partitionColumns'),
      map('configuration'),
      i64('createdTime'),
    ]),
    struct('protocol', [
      i32('minReaderVersion'),
      i32('minWriterVersion'),
      list('readerFeatures'),
      list('writerFeatures'),
    ]),
  ];
  if (withDomains)
    fields.push(struct('domainMetadata', [str('domain'), str('configuration'), bool('removed')]));
  return fields;
}

/** Rows per row group: bounds the writer's memory (and a reader's) whatever the table's size. */
const CHECKPOINT_ROW_GROUP_ROWS = 131_072;

export interface CheckpointResult {
  version: number;
  path: string;
  /** Number of actions (rows) written. */
  size: number;
  sizeInBytes: number;
  numOfAddFiles: number;
}

export interface CheckpointOptions {
  /** "Now" for tombstone expiry, ms since the epoch. Default Date.now(). */
  now?: number;
  /**
   * Page compression; default uncompressed (as delta-rs writes checkpoints: fastest to write and
   * read). `zstd` and `gzip` make the file several times smaller, for slow stores.
   */
  compression?: ParquetCodec;
  /** Rows per Parquet row group (what bounds memory when writing and reading). Default 131,072. */
  rowGroupRows?: number;
}

/** Write a checkpoint of `snapshot` and move `_last_checkpoint` to it. */
export async function writeCheckpoint(
  store: ObjectStore,
  snapshot: Snapshot,
  options: CheckpointOptions = {},
): Promise<CheckpointResult> {
  const config = snapshot.properties;
  const withStats = tableProperty(config, 'delta.checkpoint.writeStatsAsJson') !== 'false';
  const domains = snapshot.domainMetadataActions();
  const schema = checkpointSchema(withStats, domains.length > 0);
  const now = options.now ?? Date.now();
  const retention = parseInterval(
    tableProperty(config, 'delta.deletedFileRetentionDuration'),
    'delta.deletedFileRetentionDuration',
  );
  const minTimestamp = now - retention;

  const writer = new ParquetStreamWriter(schema, {
    codec: options.compression ?? 'uncompressed',
    createdBy: 'lakehouse-kit',
  });
  let numOfAddFiles = 0;
  let rows = 0;
  let sizeInBytes = 0;
  // Rows are shredded as the snapshot is walked and written a row group at a time: memory stays
  // bounded by one row group (no copy of the file list, no whole-file buffer).
  async function* encode(): AsyncGenerator<Uint8Array> {
    const row = (column: string, value: object) => {
      writer.addRow(column, value as Record<string, unknown>);
      rows++;
    };
    const groupRows = options.rowGroupRows ?? CHECKPOINT_ROW_GROUP_ROWS;
    const full = () => writer.pendingRows >= groupRows;
    row('protocol', snapshot.protocol);
    row('metaData', {
      ...snapshot.metadata,
      format: snapshot.metadata.format ?? { provider: 'parquet', options: {} },
    });
    for (const txn of snapshot.appTransactions.values()) row('txn', txn);
    for (const d of domains) row('domainMetadata', d);
    for (const add of snapshot.activeFilesIterator()) {
      // Fields the schema does not name (stats when they are off) are not written.
      row('add', add);
      numOfAddFiles++;
      if (full()) yield* counted(writer.flush());
    }
    for (const rm of snapshot.tombstones()) {
      if ((rm.deletionTimestamp ?? 0) <= minTimestamp) continue; // expired tombstone
      row('remove', rm); // stats and tags are not in the remove schema (PROTOCOL.md "Checkpoints")
      if (full()) yield* counted(writer.flush());
    }
    yield* counted(writer.finish());
  }
  const counted = (parts: Uint8Array[]) => {
    for (const b of parts) sizeInBytes += b.length;
    return parts;
  };
  const path = classicCheckpointPath(snapshot.version);
  await store.putStream(path, encode());
  const result = { version: snapshot.version, path, size: rows, sizeInBytes, numOfAddFiles };
  const previous = await readLastCheckpoint(store);
  if (!previous || previous.version <= snapshot.version) {
    await writeLastCheckpoint(store, {
      version: result.version,
      size: rows,
      sizeInBytes,
      numOfAddFiles,
    });
  }
  return result;
}
