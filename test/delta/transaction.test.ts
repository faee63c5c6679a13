import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  Snapshot,
  Transaction,
  commitPath,
  readLastCheckpoint,
  removeFor,
  type AddAction,
} from '../../lib/delta/index.js';
import { add, append, createTable, metadata, tempStore } from './helpers.js';

const run = promisify(execFile);

describe('Transaction', () => {
  test('writes commitInfo first with operation, parameters, metrics, engine, readVersion', async () => {
    const { dir, store } = await tempStore();
    await createTable(store);
    const snap = await Snapshot.load(store);
    const tx = new Transaction(store, snap, { operation: 'WRITE', operationParameters: { mode: 'Append' } });
    tx.addActions([{ add: add('a.parquet', { size: 10, stats: '{"numRecords":5}' }) }]);
    expect(await tx.commit()).toMatchObject({ version: 1, attempts: 1, conflictsResolved: 0 });
    const first = JSON.parse((await readFile(path.join(dir, commitPath(1)), 'utf8')).split('\n')[0]);
    expect(first.commitInfo).toMatchObject({
      operation: 'WRITE',
      operationParameters: { mode: 'Append' },
      operationMetrics: { numFiles: '1', numOutputBytes: '10', numOutputRows: '5' },
      readVersion: 0,
      isBlindAppend: true,
      engineInfo: expect.stringMatching(/^lakehouse-kit\//),
      timestamp: expect.any(Number),
    });
  });

  test('creating over an existing table fails', async () => {
    const { store } = await tempStore();
    await createTable(store);
    await expect(createTable(store)).rejects.toMatchObject({ code: 'TABLE_ALREADY_EXISTS' });
  });

  test('concurrent blind appends both commit; the loser retries at the next version', async () => {
    const { store } = await tempStore();
    const snap = await createTable(store);
    const t1 = new Transaction(store, snap, { operation: 'WRITE' }).addActions([{ add: add('a') }]);
    const t2 = new Transaction(store, snap, { operation: 'WRITE' }).addActions([{ add: add('b') }]);
    const r1 = await t1.commit();
    const r2 = await t2.commit();
    expect([r1.version, r2.version]).toEqual([1, 2]);
    expect(r2).toMatchObject({ attempts: 2, conflictsResolved: 1 });
    expect((await Snapshot.load(store)).numFiles).toBe(2);
  });

  test.each([
    ['metadata change', 'METADATA_CHANGED'],
    ['protocol change', 'PROTOCOL_CHANGED'],
    ['removal of a file we read', 'CONCURRENT_DELETE_READ'],
    ['removal of a file we remove', 'CONCURRENT_DELETE_DELETE'],
    ['append matching our read predicate', 'CONCURRENT_APPEND'],
    ['commit by the same app id', 'CONCURRENT_TRANSACTION'],
  ])('a concurrent %s fails the transaction with %s', async (what, code) => {
    const { store } = await tempStore();
    await createTable(store);
    await append(store, 'a', 'b');
    const snap = await Snapshot.load(store);
    const fileA = snap.activeFiles().find((f) => f.path === 'a')!;
    const winner = new Transaction(store, snap, { operation: 'WINNER' });
    if (what === 'metadata change')
      winner.addActions([{ metaData: { ...snap.metadata, configuration: { x: '1' } } }]);
    if (what === 'protocol change')
      winner.addActions([{ protocol: { minReaderVersion: 1, minWriterVersion: 3 } }]);
    if (what.startsWith('removal')) winner.addActions([{ remove: removeFor(fileA) }]);
    if (what.startsWith('append')) winner.addActions([{ add: add('c', { partitionValues: {} }) }]);
    if (what.startsWith('commit by')) winner.addActions([{ add: add('d') }]);
    await winner.commit();

    const loser = new Transaction(store, snap, {
      operation: 'LOSER',
      readFiles: what === 'removal of a file we read' ? ['a'] : undefined,
      readPredicate: what.startsWith('append') ? (f: AddAction) => f.path === 'c' : undefined,
      appTransaction: what.startsWith('commit by') ? { appId: 'app', version: 2 } : undefined,
    });
    if (what === 'removal of a file we remove') loser.addActions([{ remove: removeFor(fileA) }]);
    else loser.addActions([{ add: add('mine') }]);
    if (what.startsWith('commit by')) {
      // The winner wrote the same app id.
      const w2 = new Transaction(store, await Snapshot.load(store), {
        operation: 'W',
        appTransaction: { appId: 'app', version: 1 },
      });
      await w2.addActions([{ add: add('e') }]).commit();
    }
    await expect(loser.commit()).rejects.toMatchObject({
      code,
      message: expect.stringMatching(/^delta: .*WINNER|^delta: /),
    });
    const after = await Snapshot.load(store);
    expect(after.activeFiles().some((f) => f.path === 'mine')).toBe(false);
  });

  test('gives up with CONCURRENT_MODIFICATION after maxRetries lost races', async () => {
    const { store } = await tempStore();
    const snap = await createTable(store);
    await append(store, 'x');
    const tx = new Transaction(store, snap, { operation: 'WRITE', maxRetries: 0 }).addActions([
      { add: add('y') },
    ]);
    await expect(tx.commit()).rejects.toMatchObject({
      code: 'CONCURRENT_MODIFICATION',
      message: expect.stringContaining('gave up after 1 attempts'),
    });
  });

  test('a delete and an append over the same file set race: exactly one fails with a conflict', async () => {
    for (let round = 0; round < 5; round++) {
      const { store } = await tempStore();
      await createTable(store);
      await append(store, 'f1', 'f2');
      const snap = await Snapshot.load(store);
      const files = snap.activeFiles();
      const readAll = { readFiles: files.map((f) => f.path), readPredicate: () => true };
      const del = new Transaction(store, snap, { operation: 'DELETE', ...readAll }).addActions(
        files.map((f) => ({ remove: removeFor(f) })),
      );
      const app = new Transaction(store, snap, { operation: 'WRITE', ...readAll }).addActions([
        { add: add('f3') },
      ]);
      const results = await Promise.allSettled([del.commit(), app.commit()]);
      const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      expect(failed).toHaveLength(1);
      expect(['CONCURRENT_APPEND', 'CONCURRENT_DELETE_READ']).toContain(failed[0].reason.code);
      expect((await Snapshot.load(store)).version).toBe(2);
    }
  });

  test('append-only tables refuse removes; unknown writer features are refused by name', async () => {
    const { store } = await tempStore();
    await createTable(store, { configuration: { 'delta.appendOnly': 'true' } });
    await append(store, 'a');
    const snap = await Snapshot.load(store);
    const tx = new Transaction(store, snap, { operation: 'DELETE' }).addActions([
      { remove: removeFor(snap.activeFiles()[0]) },
    ]);
    await expect(tx.commit()).rejects.toThrow(/append-only/);

    const other = await tempStore();
    const protocol = {
      minReaderVersion: 1,
      minWriterVersion: 7,
      writerFeatures: ['rowTracking', 'domainMetadata'],
    };
    await expect(createTable(other.store, {}, protocol)).rejects.toMatchObject({
      code: 'UNSUPPORTED_WRITER_FEATURE',
      message: expect.stringContaining('"rowTracking"'),
    });
  });

  test('checkpoints every delta.checkpointInterval commits, readable back', async () => {
    const { dir, store } = await tempStore();
    await createTable(store, { configuration: { 'delta.checkpointInterval': '3' } });
    for (let i = 0; i < 7; i++) await append(store, `f${i}`);
    expect(existsSync(path.join(dir, '_delta_log/00000000000000000003.checkpoint.parquet'))).toBe(true);
    expect(existsSync(path.join(dir, '_delta_log/00000000000000000006.checkpoint.parquet'))).toBe(true);
    expect(await readLastCheckpoint(store)).toMatchObject({ version: 6, numOfAddFiles: 6, size: 8 });
    const snap = await Snapshot.load(store);
    expect(snap.logSegment.checkpoint?.version).toBe(6);
    expect(
      snap
        .activeFiles()
        .map((f) => f.path)
        .sort(),
    ).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6']);
    expect(snap.metadata.configuration['delta.checkpointInterval']).toBe('3');
  });

  test('4 processes × 50 appends end at version 200 with every append visible', async () => {
    const worker = path.resolve('test/delta/fixtures/append-worker.mjs');
    const dist = path.resolve('dist/lib/delta/index.js');
    if (!existsSync(dist))
      throw new Error(`${dist} is missing: run "npm run build" before the tests (npm test does)`);
    const { dir, store } = await tempStore();
    await createTable(store, { schemaString: metadata().schemaString });
    const outputs = await Promise.all(
      [0, 1, 2, 3].map((w) => run(process.execPath, [worker, dir, String(w), '50'], { maxBuffer: 1 << 20 })),
    );
    const reports = outputs.map(
      (o) => JSON.parse(o.stdout.trim()) as { versions: number[]; conflictsResolved: number },
    );
    const versions = reports.flatMap((r) => r.versions).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    const snap = await Snapshot.load(store);
    expect(snap.version).toBe(200);
    expect(snap.numFiles).toBe(200);
    const names = new Set(snap.activeFiles().map((f) => f.path));
    for (let w = 0; w < 4; w++)
      for (let i = 0; i < 50; i++) expect(names.has(`w${w}-${i}.parquet`)).toBe(true);
    console.log(
      `concurrency: ${reports.reduce((n, r) => n + r.conflictsResolved, 0)} lost races resolved by retry`,
    );
  }, 300_000);
});

describe('protocol and metadata agree', () => {
  test('a new table gets the features its metadata needs; a commit without them is refused', async () => {
    const { store } = await tempStore();
    const ntz = JSON.stringify({
      type: 'struct',
      fields: [{ name: 't', type: 'timestamp_ntz', nullable: true, metadata: {} }],
    });
    const snap = await createTable(store, {
      schemaString: ntz,
      configuration: { 'delta.enableDeletionVectors': 'true' },
    });
    expect(snap.protocol).toEqual({
      minReaderVersion: 3,
      minWriterVersion: 7,
      readerFeatures: ['deletionVectors', 'timestampNtz'],
      writerFeatures: ['appendOnly', 'deletionVectors', 'invariants', 'timestampNtz'],
    });
    const other = await tempStore();
    await expect(
      createTable(other.store, { schemaString: ntz }, { minReaderVersion: 1, minWriterVersion: 2 }),
    ).rejects.toMatchObject({ code: 'INVALID_PROTOCOL', message: expect.stringContaining('"timestampNtz"') });
    const plain = await createTable((await tempStore()).store);
    expect(plain.protocol).toEqual({ minReaderVersion: 1, minWriterVersion: 2 });
  });
});

describe('change data feed tables', () => {
  test('appends, whole-file deletes and compaction commit; row rewrites without change data are refused', async () => {
    const { store } = await tempStore();
    await createTable(store, { configuration: { 'delta.enableChangeDataFeed': 'true' } });
    await append(store, 'a', 'b');
    let snap = await Snapshot.load(store);
    const [a, b] = snap.activeFiles().sort((x, y) => x.path.localeCompare(y.path));
    await new Transaction(store, snap, { operation: 'DELETE', readFiles: ['a'] })
      .addActions([{ remove: removeFor(a) }])
      .commit();
    snap = await Snapshot.load(store);
    await new Transaction(store, snap, { operation: 'OPTIMIZE', readFiles: ['b'] })
      .addActions([{ remove: removeFor(b, { dataChange: false }) }, { add: add('c', { dataChange: false }) }])
      .commit();
    snap = await Snapshot.load(store);
    const c = snap.activeFiles()[0];
    const rewrite = new Transaction(store, snap, { operation: 'DELETE', readFiles: ['c'] }).addActions([
      { remove: removeFor(c) },
      { add: add('c2') },
    ]);
    await expect(rewrite.commit()).rejects.toMatchObject({
      code: 'UNSUPPORTED_WRITER_FEATURE',
      message: expect.stringContaining('changeDataFeed'),
    });
    const withCdc = new Transaction(store, snap, { operation: 'DELETE', readFiles: ['c'] }).addActions([
      { remove: removeFor(c) },
      { add: add('c2') },
      { cdc: { path: '_change_data/cdc-1.parquet', partitionValues: {}, size: 5, dataChange: false } },
    ]);
    expect((await withCdc.commit()).version).toBe(4);
  });
});
