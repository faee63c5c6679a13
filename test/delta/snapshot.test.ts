import { rename, rm, writeFile, utimes } from 'node:fs/promises';
import * as path from 'node:path';
import {
  Snapshot,
  Transaction,
  cleanupExpiredLogs,
  commitPath,
  history,
  removeFor,
  serializeActions,
  versionAtTimestamp,
  writeCheckpoint,
} from '../../lib/delta/index.js';
import { add, append, createTable, metadata, tempStore } from './helpers.js';

describe('Snapshot', () => {
  test('replays adds, removes, txns and domains; time travel by version', async () => {
    const { store } = await tempStore();
    await createTable(store, { partitionColumns: ['day'], configuration: { 'delta.appendOnly': 'false' } });
    await append(store, 'a.parquet', 'b.parquet');
    const s1 = await Snapshot.load(store);
    const tx = new Transaction(store, s1, {
      operation: 'DELETE',
      readFiles: ['a.parquet'],
      appTransaction: { appId: 'job', version: 3 },
    });
    tx.addActions([
      {
        remove: removeFor(
          s1.activeFiles().find((a) => a.path === 'a.parquet')!,
          { deletionTimestamp: 1234 },
        ),
      },
    ]);
    tx.addActions([{ domainMetadata: { domain: 'my.domain', configuration: '{"x":1}', removed: false } }]);
    expect((await tx.commit()).version).toBe(2);

    const s2 = await Snapshot.load(store);
    expect(s2.version).toBe(2);
    expect(s2.activeFiles().map((a) => a.path)).toEqual(['b.parquet']);
    expect(s2.tombstones()).toEqual([
      expect.objectContaining({ path: 'a.parquet', deletionTimestamp: 1234 }),
    ]);
    expect(s2.appTransactionVersion('job')).toBe(3);
    expect(s2.appTransactionVersion('other')).toBeUndefined();
    expect(s2.domainMetadata.get('my.domain')).toBe('{"x":1}');
    expect(s2.partitionColumns).toEqual(['day']);
    expect(s2.schema.fields.map((f) => f.name)).toEqual(['id', 'day']);
    expect(s2.commitInfo?.operation).toBe('DELETE');

    const old = await Snapshot.load(store, { version: 1 });
    expect(
      old
        .activeFiles()
        .map((a) => a.path)
        .sort(),
    ).toEqual(['a.parquet', 'b.parquet']);
    expect((await s1.update()).activeFiles().map((a) => a.path)).toEqual(['b.parquet']);
    await expect(Snapshot.load(store, { version: 9 })).rejects.toMatchObject({
      code: 'VERSION_NOT_FOUND',
      message: expect.stringContaining('versions 0 to 2 remain'),
    });
  });

  test('a file re-added with a deletion vector replaces the old logical file', async () => {
    const { store } = await tempStore();
    await createTable(store);
    await append(store, 'f.parquet');
    const s = await Snapshot.load(store);
    const old = s.activeFiles()[0];
    const dv = { storageType: 'i' as const, pathOrInlineDv: 'xyz12', sizeInBytes: 4, cardinality: 1 };
    const tx = new Transaction(store, s, { operation: 'DELETE', readFiles: ['f.parquet'] });
    tx.addActions([{ remove: removeFor(old) }, { add: { ...old, deletionVector: dv } }]);
    await tx.commit();
    const after = await Snapshot.load(store);
    expect(after.activeFiles()).toEqual([expect.objectContaining({ path: 'f.parquet', deletionVector: dv })]);
    expect(after.tombstones()).toEqual([expect.objectContaining({ path: 'f.parquet' })]);
  });

  test('loads from a checkpoint, and recovers from a torn or stale _last_checkpoint', async () => {
    const { dir, store } = await tempStore();
    await createTable(store, { configuration: { 'delta.checkpointInterval': '1000' } });
    for (let i = 0; i < 4; i++) await append(store, `f${i}.parquet`);
    const s4 = await Snapshot.load(store);
    await writeCheckpoint(store, s4);
    await append(store, 'f4.parquet');
    const fromCp = await Snapshot.load(store);
    expect(fromCp.logSegment.checkpoint?.version).toBe(4);
    expect(fromCp.numFiles).toBe(5);

    await writeFile(path.join(dir, '_delta_log/_last_checkpoint'), '{"version":4,"si');
    expect((await Snapshot.load(store)).numFiles).toBe(5);
    // A hint pointing at a checkpoint that is gone: list the log instead.
    await writeFile(path.join(dir, '_delta_log/_last_checkpoint'), '{"version":3,"size":9}');
    expect((await Snapshot.load(store)).numFiles).toBe(5);
    await rm(path.join(dir, '_delta_log/00000000000000000004.checkpoint.parquet'));
    await writeFile(path.join(dir, '_delta_log/_last_checkpoint'), '{"version":4,"size":9}');
    const listed = await Snapshot.load(store);
    expect(listed.logSegment.checkpoint).toBeNull();
    expect(listed.numFiles).toBe(5);
  });

  test('corrupt inputs name the file', async () => {
    const { dir, store } = await tempStore();
    await createTable(store);
    await append(store, 'a.parquet');
    await writeFile(path.join(dir, commitPath(2)), '{"add":{"path":"b.parquet","partitionValues":{},"si');
    await expect(Snapshot.load(store)).rejects.toThrow(
      /^delta: 00000000000000000002\.json line 1: not valid JSON/,
    );
    await rm(path.join(dir, commitPath(2)));

    // A multi-part checkpoint with a missing part is ignored (the protocol says so): commits are used.
    await writeFile(
      path.join(dir, '_delta_log/00000000000000000001.checkpoint.0000000001.0000000002.parquet'),
      'junk',
    );
    expect((await Snapshot.load(store)).numFiles).toBe(1);
    // A complete but unreadable checkpoint is an error naming it.
    await writeFile(path.join(dir, '_delta_log/00000000000000000001.checkpoint.parquet'), 'not parquet');
    await expect(Snapshot.load(store)).rejects.toThrow(
      /^delta: 00000000000000000001\.checkpoint\.parquet: not a readable Parquet file/,
    );
  });

  test('a multi-part checkpoint missing a part, with older commits cleaned up, is named', async () => {
    const { dir, store } = await tempStore();
    await createTable(store);
    await append(store, 'a');
    await append(store, 'b');
    const cp = path.join(dir, '_delta_log/00000000000000000002.checkpoint.parquet');
    await writeCheckpoint(store, await Snapshot.load(store));
    await rename(
      cp,
      path.join(dir, '_delta_log/00000000000000000002.checkpoint.0000000001.0000000002.parquet'),
    );
    await rm(path.join(dir, commitPath(0)));
    await rm(path.join(dir, commitPath(1)));
    await expect(Snapshot.load(store)).rejects.toMatchObject({
      code: 'VERSION_NOT_FOUND',
      message: expect.stringContaining(
        'incomplete checkpoint ignored: 00000000000000000002.checkpoint (1 of 2 parts)',
      ),
    });
  });

  test('a missing table and a gap in the log are clear errors', async () => {
    const { dir, store } = await tempStore();
    await expect(Snapshot.load(store)).rejects.toMatchObject({ code: 'NOT_A_TABLE' });
    await createTable(store);
    await append(store, 'a');
    await append(store, 'b');
    await rm(path.join(dir, commitPath(1)));
    await expect(Snapshot.load(store)).rejects.toThrow(
      'delta: _delta_log/ is missing commit 00000000000000000001.json: versions are not contiguous (0 is followed by 2)',
    );
  });

  test('time travel reads the log up to its target only: a later gap fails the latest load, not it', async () => {
    const { dir, store } = await tempStore();
    await createTable(store);
    for (const v of ['a', 'b', 'c', 'd']) await append(store, v);
    await rm(path.join(dir, commitPath(3)));
    await expect(Snapshot.load(store)).rejects.toMatchObject({ code: 'CORRUPT_LOG' });
    const old = await Snapshot.load(store, { version: 2 });
    expect(old.version).toBe(2);
    expect(old.numFiles).toBe(2);
    await expect(Snapshot.load(store, { version: 4 })).rejects.toMatchObject({ code: 'CORRUPT_LOG' });
  });

  test('unsupported reader features are named; we refuse to create such a table', async () => {
    const { store } = await tempStore();
    const protocol = {
      minReaderVersion: 3,
      minWriterVersion: 7,
      readerFeatures: ['futureThing'],
      writerFeatures: ['futureThing'],
    };
    await expect(createTable(store, {}, protocol)).rejects.toMatchObject({
      code: 'UNSUPPORTED_READER_FEATURE',
    });
    await store.putIfAbsent(commitPath(0), serializeActions([{ protocol }, { metaData: metadata() }]));
    await expect(Snapshot.load(store)).rejects.toMatchObject({
      code: 'UNSUPPORTED_READER_FEATURE',
      message: expect.stringContaining('"futureThing"'),
    });
  });
});

describe('history and time travel by timestamp', () => {
  test('commit timestamps from file times; cleaned-up versions say which remain', async () => {
    const { dir, store } = await tempStore();
    await createTable(store, { configuration: { 'delta.checkpointInterval': '1000' } });
    await append(store, 'a');
    await append(store, 'b');
    const base = Date.parse('2026-01-01T00:00:00Z');
    for (let v = 0; v <= 2; v++) {
      const t = new Date(base + v * 3_600_000);
      await utimes(path.join(dir, commitPath(v)), t, t);
    }
    expect(await versionAtTimestamp(store, '2026-01-01T01:30:00Z')).toBe(1);
    expect(await versionAtTimestamp(store, '2030-01-01T00:00:00Z')).toBe(2);
    await expect(versionAtTimestamp(store, '2025-01-01T00:00:00Z')).rejects.toMatchObject({
      code: 'VERSION_NOT_FOUND',
    });
    const s = await Snapshot.load(store, { timestamp: '2026-01-01T01:00:00Z' });
    expect(s.version).toBe(1);
    expect(s.timestamp).toBe(base + 3_600_000);

    const entries = [];
    for await (const e of history(store)) entries.push(e);
    expect(entries.map((e) => [e.version, e.commitInfo?.operation])).toEqual([
      [2, 'WRITE'],
      [1, 'WRITE'],
      [0, 'CREATE TABLE'],
    ]);

    // Checkpoint at 2, then clean up everything older than the retention: version 0 and 1 go.
    await writeCheckpoint(store, await Snapshot.load(store));
    const cleaned = await cleanupExpiredLogs(store, { 'delta.logRetentionDuration': 'interval 1 day' });
    expect(cleaned.keptFrom).toBe(2);
    await expect(Snapshot.load(store, { version: 1 })).rejects.toMatchObject({
      code: 'VERSION_NOT_FOUND',
      message: expect.stringContaining('versions 2 to 2 remain'),
    });
    expect((await Snapshot.load(store)).numFiles).toBe(2);
  });

  test('in-commit timestamps are used when enabled', async () => {
    const { store } = await tempStore();
    await createTable(
      store,
      { configuration: { 'delta.enableInCommitTimestamps': 'true' } },
      { minReaderVersion: 1, minWriterVersion: 7, writerFeatures: ['inCommitTimestamp'] },
    );
    await append(store, 'a');
    const s = await Snapshot.load(store);
    expect(s.inCommitTimestamp).toBe(s.commitInfo?.inCommitTimestamp);
    const s0 = await Snapshot.load(store, { version: 0 });
    expect(s.inCommitTimestamp!).toBeGreaterThan(s0.inCommitTimestamp!);
    expect(await versionAtTimestamp(store, s.inCommitTimestamp!)).toBe(1);
    expect(await versionAtTimestamp(store, s.inCommitTimestamp! - 1)).toBe(0);
  });

  test('a table that enabled in-commit timestamps later: file times before, ICT after', async () => {
    const { dir, store } = await tempStore();
    await createTable(store);
    await append(store, 'a');
    const past = Date.parse('2020-01-01T00:00:00Z');
    for (let v = 0; v <= 1; v++)
      await utimes(path.join(dir, commitPath(v)), new Date(past + v * 1000), new Date(past + v * 1000));
    const s1 = await Snapshot.load(store);
    const enable = new Transaction(store, s1, { operation: 'SET TBLPROPERTIES' });
    enable.addActions([
      {
        protocol: {
          minReaderVersion: 1,
          minWriterVersion: 7,
          writerFeatures: ['appendOnly', 'invariants', 'inCommitTimestamp'],
        },
      },
      {
        metaData: {
          ...s1.metadata,
          configuration: {
            'delta.enableInCommitTimestamps': 'true',
            'delta.inCommitTimestampEnablementVersion': '2',
          },
        },
      },
    ]);
    await enable.commit();
    await append(store, 'b');
    const s3 = await Snapshot.load(store);
    expect(s3.inCommitTimestamp).toBeDefined();
    expect(await versionAtTimestamp(store, past + 500)).toBe(0);
    expect(await versionAtTimestamp(store, past + 1500)).toBe(1);
    expect(await versionAtTimestamp(store, s3.inCommitTimestamp!)).toBe(3);
    expect(await versionAtTimestamp(store, s3.inCommitTimestamp! - 1)).toBe(2);
  });

  test('unused helper add() builds valid actions', () => {
    expect(add('x').dataChange).toBe(true);
  });
});
