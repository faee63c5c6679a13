import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Snapshot } from '../../lib/delta/snapshot.js';
import { optimize } from '../../lib/ops/optimize.js';
import { tableHistory } from '../../lib/ops/history.js';
import { writeTable } from '../../lib/ops/write.js';
import { peerRead } from '../harness/peers.js';
import { readRows, rowsBatch, tempTable } from './helpers.js';

const SCHEMA = 'id:long,day:string,x:long,y:long,name:string';
const WORKER = path.resolve('test/ops/workers/appender.mjs');

interface AppenderResult {
  writer: string;
  appends: number;
  versions: number[];
  retries: number;
}

function startAppender(
  dir: string,
  writer: number,
  stopFile: string,
): { child: ChildProcess; ready: Promise<void>; done: Promise<AppenderResult> } {
  const child = spawn(process.execPath, [WORKER, dir, String(writer), stopFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let signalReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (signalReady = resolve));
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    if (out.includes('ready\n')) signalReady();
  });
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const done = new Promise<AppenderResult>((resolve, reject) => {
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`appender ${writer} exited with ${code}: ${err}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as AppenderResult);
    });
  });
  return { child, ready, done };
}

describe('optimize yields to live writers', () => {
  test('4 appenders at full speed while optimize commits every bin: optimize finishes, no row and no append is lost', async () => {
    const { dir, store } = tempTable('opt-ingest');
    // Seed: 8 appends × 4 partitions of 500 rows each.
    let id = 0;
    for (let w = 0; w < 8; w++) {
      const rows = [];
      for (let r = 0; r < 2000; r++, id++)
        rows.push({ id, day: `d${id % 4}`, x: id % 1000, y: id % 997, name: 'seed' });
      await writeTable(store, rowsBatch(SCHEMA, rows), { partitionBy: ['day'] });
    }
    const seedVersion = (await Snapshot.load(store)).version;
    const stopFile = path.join(dir, '..', `${path.basename(dir)}.stop`);
    const appenders = [1, 2, 3, 4].map((w) => startAppender(dir, w, stopFile));
    let m: Awaited<ReturnType<typeof optimize>>;
    try {
      await Promise.all(appenders.map((a) => a.ready));
      m = await optimize(store, { commitEvery: 1 });
    } finally {
      writeFileSync(stopFile, '');
    }
    const results = await Promise.all(appenders.map((a) => a.done));

    // Optimize finished: one commit per partition's bin; the 32 seed files and the appends it saw
    // at its start compacted, nothing dropped.
    expect(m.commits).toHaveLength(4);
    expect(m.numBinsDropped).toBe(0);
    expect(m.numFilesRemoved).toBe(m.plan.partitions.reduce((s, p) => s + p.filesIn, 0));
    expect(m.numFilesRemoved).toBeGreaterThanOrEqual(32);
    expect(m.numFilesAdded).toBe(4);
    // Every appender's commits are there, as WRITE commits, interleaved with OPTIMIZE.
    const history = await tableHistory(store);
    const ops = new Map(history.map((h) => [h.version, h.operation]));
    for (const r of results) {
      expect(r.appends).toBeGreaterThan(0);
      for (const v of r.versions) expect(ops.get(v)).toBe('WRITE');
    }
    for (const v of m.commits) expect(ops.get(v)).toBe('OPTIMIZE');
    const appendVersions = results.flatMap((r) => r.versions);
    expect(m.commits.some((v) => v > Math.min(...appendVersions))).toBe(true);
    expect(new Set([...appendVersions, ...m.commits]).size).toBe(appendVersions.length + m.commits.length);
    expect((await Snapshot.load(store)).version).toBe(seedVersion + appendVersions.length + m.commits.length);

    // Every row exactly once: the seed and each appender's 10 rows per append.
    const expected: number[] = [];
    for (let i = 0; i < id; i++) expected.push(i);
    for (const r of results)
      for (let i = 0; i < r.appends * 10; i++) expected.push(Number(r.writer) * 1_000_000 + i);
    const ids = (await readRows(store)).map((row) => (JSON.parse(row) as { id: number }).id);
    expect(ids.sort((a, b) => a - b)).toEqual(expected.sort((a, b) => a - b));
    const rs = await peerRead('delta-rs', dir, { columns: ['id'] });
    expect(rs.numRows).toBe(expected.length);
    process.stdout.write(
      `optimize under ingest: ${results.map((r) => r.appends).join('+')} appends during the run, ` +
        `optimize commits ${m.commits.join(',')}, ${m.numConflictsResolved} concurrent commits resolved, rebases ${m.numRebases}, appender retries ${results.map((r) => r.retries).join('+')}, ` +
        `${m.executionTimeMs} ms\n`,
    );
  }, 300_000);
});
