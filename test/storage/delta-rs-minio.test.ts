import { randomUUID } from 'node:crypto';
import { openStore } from '../../lib/storage/index.js';
import type { StructType } from '../../lib/delta/index.js';
import { createTable } from '../../lib/ops/create.js';
import { scanTable } from '../../lib/ops/scan.js';
import { writeTable } from '../../lib/ops/write.js';
import { deltaSchemaToArrow } from '../../lib/delta/arrow-schema.js';
import { batchFromRows } from '../../lib/data/arrow-build.js';
import { canonicalRows } from '../../lib/data/arrow-values.js';
import { canonicalSort, peerFiles, peerRead, peerWrite } from '../harness/peers.js';
import { startMinio, type MinioServer } from '../harness/minio.js';

/**
 * Interoperability on S3: delta-rs (through its own S3 support, pointed at MinIO) and this kit
 * read each other's tables, through the table operations on our side (createTable, writeTable,
 * scanTable).
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
  try {
    const scan = await scanTable(store);
    const out: string[] = [];
    for await (const batch of scan) out.push(...canonicalRows(batch));
    const files = scan.snapshot.activeFiles().map((a) => decodeURIComponent(a.path));
    return { version: scan.snapshot.version, files: files.sort(), rows: canonicalSort(out) };
  } finally {
    await store.close?.();
  }
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

test('a table we wrote to MinIO (writeTable: create, append) is read by delta-rs with identical rows', async () => {
  const uri = minio.uri(`from-lakehouse-${randomUUID()}`);
  const store = await openStore(uri, minio.storageOptions);
  const arrowSchema = deltaSchemaToArrow(schema);
  await createTable(store, { schema });
  expect((await writeTable(store, [batchFromRows(arrowSchema, rows.slice(0, 25))])).version).toBe(1);
  expect((await writeTable(store, [batchFromRows(arrowSchema, rows.slice(25))])).version).toBe(2);
  await store.close?.();

  const theirs = await peerRead('delta-rs', uri, { storage_options: minio.storageOptions });
  expect(theirs.version).toBe(2);
  expect(theirs.rows).toEqual(canonical);
});
