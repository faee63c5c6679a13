import { randomUUID } from 'node:crypto';
import { openStore } from '../../lib/storage/index.js';
import { Snapshot, Transaction, type StructType } from '../../lib/delta/index.js';
import { deltaSchemaToArrow } from '../../lib/delta/arrow-schema.js';
import { batchFromRows } from '../../lib/data/arrow-build.js';
import { canonicalRows } from '../../lib/data/arrow-values.js';
import { ParquetSource, writeParquetFile } from '../../lib/data/parquet-io.js';
import { canonicalSort, peerFiles, peerRead, peerWrite } from '../harness/peers.js';
import { startMinio, type MinioServer } from '../harness/minio.js';

/**
 * Interoperability on S3: delta-rs (through its own S3 support, pointed at MinIO) and this kit
 * read each other's tables. Our side uses the log and data layers directly, so this tests the
 * object store and the protocol, not a particular table operation.
 */
const schema: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'name', type: 'string', nullable: true, metadata: {} },
  ],
};
const rows = Array.from({ length: 50 }, (_, i) => ({ id: i, name: i % 7 === 0 ? null : `name-${i}` }));
const canonical = canonicalSort(rows.map((r) => JSON.stringify(r)));

let minio: MinioServer;
beforeAll(async () => {
  minio = await startMinio();
});
afterAll(async () => {
  await minio?.stop();
});

async function ourRows(uri: string): Promise<{ version: number; files: string[]; rows: string[] }> {
  const store = await openStore(uri, minio.storageOptions);
  const snapshot = await Snapshot.load(store);
  const out: string[] = [];
  const files = snapshot.activeFiles().map((a) => decodeURIComponent(a.path));
  for (const add of snapshot.activeFiles()) {
    const src = await ParquetSource.open(store, decodeURIComponent(add.path), add.size);
    try {
      for await (const batch of src.batches()) out.push(...canonicalRows(batch));
    } finally {
      src.close();
    }
  }
  await store.close?.();
  return { version: snapshot.version, files: files.sort(), rows: canonicalSort(out) };
}

test('a table delta-rs wrote to MinIO is read by us: same version, files and rows', async () => {
  const uri = minio.uri(`from-delta-rs-${randomUUID()}`);
  const options = { storage_options: minio.storageOptions, schema: JSON.stringify(schema) };
  expect(await peerWrite('delta-rs', uri, { ...options, rows: rows.slice(0, 20) })).toBe(0);
  expect(await peerWrite('delta-rs', uri, { ...options, rows: rows.slice(20) })).toBe(1);
  const theirs = await peerFiles('delta-rs', uri, { storage_options: minio.storageOptions });
  const ours = await ourRows(uri);
  expect(ours.version).toBe(1);
  expect(ours.files).toEqual([...theirs.files].sort());
  expect(ours.rows).toEqual(canonical);
});

test('a table we wrote to MinIO is read by delta-rs with identical rows', async () => {
  const uri = minio.uri(`from-lakehouse-${randomUUID()}`);
  const store = await openStore(uri, minio.storageOptions);
  const arrowSchema = deltaSchemaToArrow(schema);
  const adds = [];
  for (const part of [rows.slice(0, 25), rows.slice(25)]) {
    const bytes = writeParquetFile([batchFromRows(arrowSchema, part)]);
    const path = `part-00000-${randomUUID()}-c000.snappy.parquet`;
    await store.put(path, bytes);
    adds.push({
      add: {
        path,
        partitionValues: {},
        size: bytes.byteLength,
        modificationTime: Date.now(),
        dataChange: true,
        stats: JSON.stringify({ numRecords: part.length }),
      },
    });
  }
  await new Transaction(store, null, { operation: 'CREATE TABLE' })
    .addActions([
      {
        metaData: {
          id: randomUUID(),
          format: { provider: 'parquet', options: {} },
          schemaString: JSON.stringify(schema),
          partitionColumns: [],
          configuration: {},
          createdTime: Date.now(),
        },
      },
      adds[0]!,
    ])
    .commit();
  const snapshot = await Snapshot.load(store);
  await new Transaction(store, snapshot, { operation: 'WRITE' }).addActions([adds[1]!]).commit();
  await store.close?.();

  const theirs = await peerRead('delta-rs', uri, { storage_options: minio.storageOptions });
  expect(theirs.version).toBe(1);
  expect(theirs.rows).toEqual(canonical);
});
