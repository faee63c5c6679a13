import { cpSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Snapshot } from '../../lib/delta/snapshot.js';
import { optimize } from '../../lib/ops/optimize.js';
import { vacuum } from '../../lib/ops/vacuum.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { peerBatch, unwrap } from '../harness/peers.js';
import { readRows } from './helpers.js';

const schema = [
  { name: 'id', type: 'long' },
  { name: 'name', type: 'string' },
  { name: 'amount', type: 'decimal(10,2)' },
  { name: 'score', type: 'double' },
  { name: 'at', type: 'timestamp' },
  { name: 'day', type: 'date' },
];

function rows(from: number, n: number): Record<string, unknown>[] {
  const out = [];
  for (let i = from; i < from + n; i++) {
    out.push({
      id: i,
      name: i % 5 === 0 ? null : `name-${i}`,
      amount: `${i}.${String(i % 100).padStart(2, '0')}`,
      score: i / 7,
      at: `2026-01-0${1 + (i % 3)}T10:00:00.${String(i).padStart(6, '0')}Z`,
      day: `2026-01-0${1 + (i % 2)}`,
    });
  }
  return out;
}

describe('optimize on a table delta-rs wrote', () => {
  test('delta-rs and Spark read the same rows after our optimize, after our optimize + vacuum, and after our Z-order', async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'lk-opt-peers-'));
    const dir = path.join(base, 't');
    const writes = [0, 1, 2, 3, 4].map((w) => ({
      op: 'write' as const,
      table: dir,
      schema,
      partitionBy: ['day'],
      rows: rows(w * 40, 40),
    }));
    const written = await peerBatch('delta-rs', [...writes, { op: 'read', table: dir }]);
    const before = unwrap('delta-rs', 'read', dir, written[5] as never) as {
      rows: string[];
      numRows: number;
    };
    expect(before.numRows).toBe(200);
    const zdir = path.join(base, 'z');
    cpSync(dir, zdir, { recursive: true });

    const store = new LocalObjectStore(dir);
    const m = await optimize(store);
    expect(m).toMatchObject({ commits: [5], numFilesRemoved: 10, numFilesAdded: 2, partitionsOptimized: 2 });
    expect((await optimize(store)).commits).toEqual([]);
    expect(await readRows(store)).toEqual(before.rows);

    const vdir = path.join(base, 'v');
    cpSync(dir, vdir, { recursive: true });
    const vstore = new LocalObjectStore(vdir);
    const vac = await vacuum(vstore, { retentionHours: 0, force: true });
    expect(vac.filesDeleted).toBe(10);

    const zstore = new LocalObjectStore(zdir);
    const z = await optimize(zstore, { zOrderBy: ['score', 'id'], targetFileSize: 3000 });
    expect(z.numFilesRemoved).toBe(10);
    expect(z.numFilesAdded).toBeGreaterThan(2);

    const requests = [
      { op: 'read', table: dir },
      { op: 'read', table: vdir },
      { op: 'read', table: zdir },
      { op: 'files', table: vdir },
      { op: 'history', table: dir },
    ] as const;
    const [rs, spark] = await Promise.all([peerBatch('delta-rs', requests), peerBatch('spark', requests)]);
    for (const [engine, out] of [
      ['delta-rs', rs],
      ['spark', spark],
    ] as const) {
      for (const [i, t] of [dir, vdir, zdir].entries()) {
        expect({ engine, table: t, rows: unwrap(engine, 'read', t, out[i] as never).rows }).toEqual({
          engine,
          table: t,
          rows: before.rows,
        });
      }
      const files = unwrap(engine, 'files', vdir, out[3] as never) as { files: string[] };
      const ours = (await Snapshot.load(vstore)).activeFiles().map((a) => decodeURIComponent(a.path));
      expect(files.files.sort()).toEqual(ours.sort());
      const hist = unwrap(engine, 'history', dir, out[4] as never) as { entries: { operation: string }[] };
      expect(hist.entries[0]!.operation).toBe('OPTIMIZE');
    }
  }, 600_000);
});
