import { randomUUID } from 'node:crypto';
import {
  Bool,
  Field,
  Int64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  TimestampMillisecond,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { writeParquetFile } from '../../lib/data/parquet-io.js';
import { openStore } from '../../lib/storage/index.js';
import type { ObjectStore } from '../../lib/storage/object-store.js';
import { startAzurite, type AzuriteServer } from '../harness/azurite.js';
import { startFakeGcs, type FakeGcsServer } from '../harness/fakegcs.js';
import { appendSmallFiles, DAY, lakehouse, putOrphan, storageArgs } from './health-fixtures.js';

/**
 * Vacuum from an Azure blob inventory stored in Azurite and a GCS inventory stored in
 * fake-gcs-server, through the CLI. Neither emulator produces inventories, so the reports are
 * written as the clouds lay them out, into the emulator, beside the table they describe.
 */

interface Listed {
  key: string; // key in the bucket/container
  size: number;
  lastModified: number;
}

/** The table's objects, as an inventory taken now would list them, with a claimed age. */
async function listAll(store: ObjectStore, prefix: string, claimed: number): Promise<Listed[]> {
  const out: Listed[] = [];
  for await (const m of store.list(''))
    out.push({ key: `${prefix}/${m.path}`, size: m.size, lastModified: claimed });
  return out;
}

/**
 * The shared scenario: orphans the report claims are 30 days old. With the table's window all
 * are kept (re-checked: they are seconds old); with a zero window (forced) exactly the reported,
 * current, still-present orphans go; a file the report omits and one it lists as gone stay/skip.
 */
async function inventoryVacuum(
  tableUri: string,
  storageOptions: Record<string, string>,
  putReport: (rows: Listed[], extra: { oldVersion: string }) => Promise<string>,
  tablePrefix: string,
): Promise<void> {
  const store = await openStore(tableUri, storageOptions);
  try {
    await appendSmallFiles(store, 1, 4); // version 0: 2 data files, 4 rows
    const orphans = [await putOrphan(store, 11), await putOrphan(store, 22)];
    const oldVersion = await putOrphan(store, 33); // listed only as a non-current version / snapshot
    const rows = (await listAll(store, tablePrefix, Date.now() - 30 * DAY)).filter(
      (r) => r.key !== `${tablePrefix}/${oldVersion}`,
    );
    rows.push({ key: `${tablePrefix}/day=d1/part-gone-${randomUUID()}.parquet`, size: 5, lastModified: 0 });
    const manifestUri = await putReport(rows, { oldVersion: `${tablePrefix}/${oldVersion}` });
    const notInReport = await putOrphan(store, 44);
    const vacuum = (...args: string[]): { code: number | null; out: Record<string, unknown> } => {
      const r = lakehouse([
        'vacuum',
        tableUri,
        '--inventory',
        manifestUri,
        '--format',
        'json',
        ...args,
        ...storageArgs(storageOptions),
      ]);
      if (r.code !== 0) throw new Error(`lakehouse vacuum failed (${r.code}): ${r.stderr}`);
      return { code: r.code, out: JSON.parse(r.stdout) as Record<string, unknown> };
    };

    expect(vacuum().out).toMatchObject({ filesDeleted: 0, filesSkippedStale: 3 }); // 2 young + 1 gone
    for (const p of [...orphans, oldVersion, notInReport]) await expect(store.head(p)).resolves.toBeTruthy();

    const dry = vacuum('--retention-hours', '0', '--force', '--dry-run').out;
    expect(dry).toMatchObject({ dryRun: true, filesDeleted: 2, bytesDeleted: 33, filesSkippedStale: 1 });
    expect(dry.deletedPaths).toEqual([...orphans].sort());

    const done = vacuum(
      '--retention-hours',
      '0',
      '--force',
      '--concurrency',
      '2',
      '--max-deletes-per-second',
      '10',
    ).out;
    expect(done).toMatchObject({ filesDeleted: 2, bytesDeleted: 33, filesSkippedStale: 1 });
    for (const p of orphans) await expect(store.head(p)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.head(oldVersion)).resolves.toMatchObject({ size: 33 });
    await expect(store.head(notInReport)).resolves.toMatchObject({ size: 44 });
    const r = lakehouse(['fsck', tableUri, '--format', 'json', ...storageArgs(storageOptions)]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ missingFiles: [], loadError: null }); // the table's data intact
  } finally {
    await store.close?.();
  }
}

const csv = (cells: (string | number)[][]): string =>
  cells
    .map((row) =>
      row.map((c) => (/[",]/.test(String(c)) ? `"${String(c).replace(/"/g, '""')}"` : c)).join(','),
    )
    .join('\r\n') + '\r\n';

/** One Azure blob inventory row: Name is `<container>/<blob>`. */
interface AzureRow {
  name: string;
  lastModified: number;
  size: number;
  deleted: boolean;
  current: boolean;
  snapshot: string | null;
}

/** An Azure blob inventory report file, CSV (with 7-digit fractions, as Azure writes) or Parquet. */
function azureReport(format: 'CSV' | 'Parquet', rows: AzureRow[]): Uint8Array {
  if (format === 'CSV') {
    const iso = (ms: number): string => new Date(ms).toISOString().replace('Z', '0000Z');
    return Buffer.from(
      csv([
        [
          'Name',
          'Creation-Time',
          'Last-Modified',
          'Content-Length',
          'Deleted',
          'IsCurrentVersion',
          'Snapshot',
        ],
        ...rows.map((r) => [
          r.name,
          iso(r.lastModified),
          iso(r.lastModified),
          r.size,
          String(r.deleted),
          String(r.current),
          r.snapshot ?? '',
        ]),
      ]),
    );
  }
  const fields = [
    new Field('Name', new Utf8(), false),
    new Field('Last-Modified', new TimestampMillisecond(), false),
    new Field('Content-Length', new Int64(), false),
    new Field('Deleted', new Bool(), false),
    new Field('IsCurrentVersion', new Bool(), false),
    new Field('Snapshot', new Utf8(), true),
  ];
  const columns: unknown[][] = [
    rows.map((r) => r.name),
    rows.map((r) => r.lastModified),
    rows.map((r) => BigInt(r.size)),
    rows.map((r) => r.deleted),
    rows.map((r) => r.current),
    rows.map((r) => r.snapshot),
  ];
  const children = fields.map((f, i) => vectorFromArray(columns[i]!, f.type).data[0]!);
  const data = makeData({ type: new Struct(fields), length: rows.length, nullCount: 0, children });
  return writeParquetFile([new RecordBatch(new Schema(fields), data)]);
}

describe('vacuum from an Azure blob inventory stored in Azurite', () => {
  let azurite: AzuriteServer;
  beforeAll(async () => {
    azurite = await startAzurite();
  }, 300_000);
  afterAll(async () => {
    await azurite?.stop();
  });

  test.each(['CSV', 'Parquet'] as const)(
    '%s report: Name is <container>/<blob>; young files kept, reported old orphans deleted, snapshots and old versions kept',
    async (format) => {
      const tablePrefix = `tables/${randomUUID()}`;
      const containerStore = await openStore(`az://${azurite.container}`, azurite.storageOptions);
      const c = azurite.container;
      try {
        await inventoryVacuum(
          `az://${c}/${tablePrefix}`,
          azurite.storageOptions,
          async (rows, { oldVersion }) => {
            const current = { deleted: false, current: true, snapshot: null };
            const body = azureReport(format, [
              ...rows.map((r) => ({
                name: `${c}/${r.key}`,
                lastModified: r.lastModified,
                size: r.size,
                ...current,
              })),
              { ...current, name: `${c}/${oldVersion}`, lastModified: 0, size: 33, current: false },
              {
                ...current,
                name: `${c}/${oldVersion}`,
                lastModified: 0,
                size: 33,
                snapshot: '2026-11-02T00:00:00.0000000Z',
              },
              { ...current, name: `${c}/${oldVersion}`, lastModified: 0, size: 33, deleted: true },
              // The same key in another container of the account: not this table's.
              { ...current, name: `other-container/${rows[0]!.key}`, lastModified: 0, size: 1 },
            ]);
            const run = `inventory/2026/11/24/01-00-00/rule1`;
            const shard = `${run}/rule1_1000000_0.${format.toLowerCase()}`;
            await containerStore.put(shard, body);
            await containerStore.put(
              `${run}/rule1-manifest.json`,
              Buffer.from(
                JSON.stringify({
                  destinationContainer: c,
                  endpoint: azurite.serviceUrl,
                  files: [{ blob: shard, size: body.length, md5: 'x' }],
                  inventoryCompletionTime: new Date().toISOString(),
                  ruleName: 'rule1',
                }),
              ),
            );
            return `az://${c}/${run}/rule1-manifest.json`;
          },
          tablePrefix,
        );
      } finally {
        await containerStore.close?.();
      }
    },
  );
});

describe('vacuum from a GCS inventory stored in fake-gcs-server', () => {
  let gcs: FakeGcsServer;
  beforeAll(async () => {
    gcs = await startFakeGcs();
  }, 300_000);
  afterAll(async () => {
    await gcs?.stop();
  });

  test('bucket and name columns; young files kept, reported old orphans deleted', async () => {
    const tablePrefix = `tables/${randomUUID()}`;
    const bucket = gcs.bucket;
    const bucketStore = await openStore(`gs://${bucket}`, gcs.storageOptions);
    try {
      await inventoryVacuum(
        `gs://${bucket}/${tablePrefix}`,
        gcs.storageOptions,
        async (rows) => {
          const body = csv([
            ['bucket', 'name', 'size', 'updated', 'storageClass'],
            ...rows.map((r) => [bucket, r.key, r.size, new Date(r.lastModified).toISOString(), 'STANDARD']),
            ['another-bucket', rows[0]!.key, 1, new Date(0).toISOString(), 'STANDARD'],
          ]);
          const dir = `inventory/cfg`;
          await bucketStore.put(`${dir}/cfg_2026-11-24_0.csv`, Buffer.from(body));
          await bucketStore.put(
            `${dir}/cfg_2026-11-24_manifest.json`,
            Buffer.from(
              JSON.stringify({
                report_config: { name: 'projects/p/locations/us/reportConfigs/cfg' },
                records_processed: rows.length,
                snapshot_time: new Date().toISOString(),
                shard_count: 1,
                report_shards_file_names: ['cfg_2026-11-24_0.csv'],
              }),
            ),
          );
          return `gs://${bucket}/${dir}/cfg_2026-11-24_manifest.json`;
        },
        tablePrefix,
      );
    } finally {
      await bucketStore.close?.();
    }
  });
});
