import * as arrow from 'apache-arrow';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm/node';
import type { ObjectStore } from '../storage/object-store.js';
import type { RemoveAction } from './actions.js';
import { buildData } from './arrow-build.js';
import { readLastCheckpoint, writeLastCheckpoint } from './last-checkpoint.js';
import { classicCheckpointPath } from './log-path.js';
import { parseInterval, tableProperty } from './properties.js';
import type { Snapshot } from './snapshot.js';

/**
 * Write a classic single-file V1 checkpoint for a snapshot ("Checkpoints" and "Checkpoint Schema" in
 * PROTOCOL.md): one row per action (protocol, metaData, txn, domainMetadata, add, remove), every
 * action a nullable struct column, `add.stats` as JSON, `remove` without stats and tags, expired
 * tombstones dropped. Then `_last_checkpoint` with size, sizeInBytes, numOfAddFiles and checksum
 * (only moved forward, never back to an older checkpoint).
 */

const {
  Field,
  Struct,
  Utf8,
  Int64,
  Int32,
  Bool,
  Map_,
  List,
  Schema,
  RecordBatch,
  Table,
  makeData,
  tableToIPC,
} = arrow;

const str = () => new Utf8();
const f = (name: string, type: arrow.DataType) => new Field(name, type, true);
const mapField = (name: string) =>
  new Field(
    name,
    new Map_(
      new Field(
        'key_value',
        new Struct([new Field('key', str(), false), new Field('value', str(), true)]),
        false,
      ) as never,
    ),
    true,
  );
const listField = (name: string) => f(name, new List(new Field('element', str(), true)));
const dvType = () =>
  new Struct([
    f('storageType', str()),
    f('pathOrInlineDv', str()),
    f('offset', new Int32()),
    f('sizeInBytes', new Int32()),
    f('cardinality', new Int64()),
    f('maxRowIndex', new Int64()),
  ]);

function checkpointSchema(withStats: boolean, withDomains: boolean): arrow.Schema {
  const addFields = [
    f('path', str()),
    mapField('partitionValues'),
    f('size', new Int64()),
    f('modificationTime', new Int64()),
    f('dataChange', new Bool()),
    ...(withStats ? [f('stats', str())] : []),
    mapField('tags'),
    f('deletionVector', dvType()),
    f('baseRowId', new Int64()),
    f('defaultRowCommitVersion', new Int64()),
    f('clusteringProvider', str()),
  ];
  const fields = [
    f('txn', new Struct([f('appId', str()), f('version', new Int64()), f('lastUpdated', new Int64())])),
    f('add', new Struct(addFields)),
    f(
      'remove',
      new Struct([
        f('path', str()),
        f('deletionTimestamp', new Int64()),
        f('dataChange', new Bool()),
        f('extendedFileMetadata', new Bool()),
        mapField('partitionValues'),
        f('size', new Int64()),
        f('deletionVector', dvType()),
        f('baseRowId', new Int64()),
        f('defaultRowCommitVersion', new Int64()),
      ]),
    ),
    f(
      'metaData',
      new Struct([
        f('id', str()),
        f('name', str()),
        f('description', str()),
        f('format', new Struct([f('provider', str()), mapField('options')])),
        f('schemaString', str()),
        listField('partitionColumns'),
        mapField('configuration'),
        f('createdTime', new Int64()),
      ]),
    ),
    f(
      'protocol',
      new Struct([
        f('minReaderVersion', new Int32()),
        f('minWriterVersion', new Int32()),
        listField('readerFeatures'),
        listField('writerFeatures'),
      ]),
    ),
  ];
  if (withDomains)
    fields.push(
      f(
        'domainMetadata',
        new Struct([f('domain', str()), f('configuration', str()), f('removed', new Bool())]),
      ),
    );
  return new Schema(fields);
}

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
  /** Compression codec; default snappy (what Spark and delta-rs write). */
  compression?: 'snappy' | 'zstd' | 'uncompressed';
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

  // One array per top-level column, null where a row holds another action.
  const columns = new Map<string, unknown[]>(schema.fields.map((fl) => [fl.name, []]));
  let rows = 0;
  const appendRow = (column: string, value: unknown) => {
    for (const [name, values] of columns) values.push(name === column ? value : null);
    rows++;
  };
  appendRow('protocol', snapshot.protocol);
  appendRow('metaData', {
    ...snapshot.metadata,
    format: snapshot.metadata.format ?? { provider: 'parquet', options: {} },
  });
  for (const txn of snapshot.appTransactions.values()) appendRow('txn', txn);
  for (const d of domains) appendRow('domainMetadata', d);
  let numOfAddFiles = 0;
  for (const add of snapshot.activeFilesIterator()) {
    appendRow('add', withStats ? add : { ...add, stats: undefined });
    numOfAddFiles++;
  }
  for (const rm of snapshot.tombstones()) {
    if ((rm.deletionTimestamp ?? 0) <= minTimestamp) continue; // expired tombstone
    appendRow('remove', checkpointRemove(rm));
  }

  const children = schema.fields.map((fl) => buildData(fl.type, columns.get(fl.name)!));
  const batch = new RecordBatch(
    schema,
    makeData({ type: new Struct(schema.fields), length: rows, nullCount: 0, children }),
  );
  const ipc = tableToIPC(new Table([batch]), 'stream');
  const codec =
    options.compression === 'zstd'
      ? Compression.ZSTD
      : options.compression === 'uncompressed'
        ? Compression.UNCOMPRESSED
        : Compression.SNAPPY;
  const props = new WriterPropertiesBuilder().setCompression(codec).setCreatedBy('lakehouse-kit').build();
  const bytes = writeParquet(WasmTable.fromIPCStream(ipc), props);
  const path = classicCheckpointPath(snapshot.version);
  await store.put(path, bytes);
  const result = { version: snapshot.version, path, size: rows, sizeInBytes: bytes.length, numOfAddFiles };
  const previous = await readLastCheckpoint(store);
  if (!previous || previous.version <= snapshot.version) {
    await writeLastCheckpoint(store, {
      version: result.version,
      size: rows,
      sizeInBytes: bytes.length,
      numOfAddFiles,
    });
  }
  return result;
}

/** Tombstones in checkpoints carry no stats or tags (PROTOCOL.md "Checkpoints"). */
function checkpointRemove(rm: RemoveAction): RemoveAction {
  const { stats: _stats, tags: _tags, ...rest } = rm;
  return rest;
}
