import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Snapshot, commitPath, serializeActions, writeCheckpoint } from '../../lib/delta/index.js';
import { add, metadata, tempStore } from './helpers.js';

/**
 * Time travel far behind the latest checkpoint lists only the window of the log below the version
 * when a checkpoint is there, and the whole log when none is: either way the snapshot is the one
 * the version's commits define.
 */
async function tableWithCommits(count: number) {
  const { dir, store } = await tempStore('lk-segment-');
  await mkdir(path.join(dir, '_delta_log'), { recursive: true });
  for (let v = 0; v < count; v++) {
    const actions = [
      ...(v === 0
        ? [{ protocol: { minReaderVersion: 1, minWriterVersion: 2 } }, { metaData: metadata() }]
        : []),
      { add: add(`f-${v}.parquet`) },
    ];
    await writeFile(path.join(dir, commitPath(v)), serializeActions(actions as never));
  }
  return { dir, store };
}

describe('log segment for time travel', () => {
  test('uses a checkpoint in the window below the version, else lists the whole log', async () => {
    const { store } = await tableWithCommits(1_210);
    for (const v of [100, 600, 1_200])
      await writeCheckpoint(store, await Snapshot.load(store, { version: v }));

    // 1,150: the window [150, 1,150] holds checkpoint 600.
    const inWindow = await Snapshot.load(store, { version: 1_150 });
    expect(inWindow.logSegment.checkpoint?.version).toBe(600);
    expect(inWindow.logSegment.commits.map((c) => c.version)).toEqual(
      Array.from({ length: 550 }, (_, i) => 601 + i),
    );
    expect(inWindow.numFiles).toBe(1_151);
    expect(inWindow.hasFile({ path: 'f-1150.parquet' })).toBe(true);
    expect(inWindow.hasFile({ path: 'f-1151.parquet' })).toBe(false);

    // 1,100 with checkpoint 600 gone: the window [100, 1,100] still finds checkpoint 100.
    await store.deleteMany(['_delta_log/00000000000000000600.checkpoint.parquet']);
    const older = await Snapshot.load(store, { version: 1_100 });
    expect(older.logSegment.checkpoint?.version).toBe(100);
    expect(older.numFiles).toBe(1_101);

    // 1,150: no checkpoint in [150, 1,150]: the whole log is listed and checkpoint 100 used.
    const listed = await Snapshot.load(store, { version: 1_150 });
    expect(listed.logSegment.checkpoint?.version).toBe(100);
    expect(listed.logSegment.commits).toHaveLength(1_050);
    expect(listed.numFiles).toBe(1_151);

    // The latest still starts at _last_checkpoint (1,200).
    const latest = await Snapshot.load(store);
    expect(latest.version).toBe(1_209);
    expect(latest.logSegment.checkpoint?.version).toBe(1_200);
    expect(latest.numFiles).toBe(1_210);
  }, 120_000);
});
