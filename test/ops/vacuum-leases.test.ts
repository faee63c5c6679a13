/**
 * Write leases against VACUUM at retention 0 (--force): a lakehouse-kit write in flight never
 * loses a file, whichever side of VACUUM's listing, lease read and log read its commit lands on.
 */
import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import { Snapshot } from '../../lib/delta/snapshot.js';
import {
  CLOCK_SKEW_MS,
  EXPIRED_LEASE_GRACE_MS,
  LEASE_DIR,
  LEASE_TTL_MS,
  WriteLease,
} from '../../lib/delta/write-lease.js';
import { deleteRows } from '../../lib/ops/delete.js';
import { optimize } from '../../lib/ops/optimize.js';
import { vacuum } from '../../lib/ops/vacuum.js';
import { writeTable } from '../../lib/ops/write.js';
import type { ObjectStore } from '../../lib/storage/object-store.js';
import { readRows, rowsBatch, tempTable } from './helpers.js';

const SCHEMA = 'id:long,day:string';
const batch = (from: number, n: number): RecordBatch =>
  rowsBatch(
    SCHEMA,
    Array.from({ length: n }, (_, i) => ({ id: from + i, day: `d${(from + i) % 2}` })),
  );
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const AGGRESSIVE = { retentionHours: 0, force: true } as const;

/** A write whose input pauses after its first batch (each batch becomes its own files) until released. */
function pausedWrite(store: ObjectStore): {
  written: Promise<unknown>;
  paused: Promise<void>;
  resume: () => void;
} {
  let resume!: () => void;
  let pausedNow!: () => void;
  const gate = new Promise<void>((r) => (resume = r));
  const paused = new Promise<void>((r) => (pausedNow = r));
  async function* input(): AsyncGenerator<RecordBatch> {
    yield batch(0, 50);
    yield batch(50, 50); // the first batch is flushed to files once this one arrives
    pausedNow();
    await gate;
    yield batch(100, 50);
  }
  const written = writeTable(store, input(), { partitionBy: ['day'], targetFileSize: 1 });
  return { written, paused, resume };
}

async function dataFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const rel = path.relative(dir, path.join(e.parentPath, e.name));
    if (e.isFile() && rel.endsWith('.parquet') && !rel.startsWith('_')) out.push(rel);
  }
  return out.sort();
}

describe('vacuum: writes in flight hold a write lease', () => {
  test('vacuum at retention 0 keeps the files of a write that has not committed; the write then commits every row', async () => {
    const { dir, store } = tempTable('lease-inflight');
    await writeTable(store, batch(1000, 10), { partitionBy: ['day'] });
    const w = pausedWrite(store);
    await w.paused;
    await sleep(300); // its files have landed, and are older than a retention-0 cutoff
    const uncommitted = (await dataFiles(dir)).length - (await Snapshot.load(store)).numFiles;
    expect(uncommitted).toBeGreaterThan(0);
    const m = await vacuum(store, AGGRESSIVE);
    expect(m.writesInFlight).toBe(1);
    expect(m.filesKeptInFlight).toBe(uncommitted);
    expect(m.filesDeleted).toBe(0);
    w.resume();
    await w.written;
    expect(await readRows(store)).toHaveLength(160);
    // Released after the commit: nothing is held, and a vacuum finds nothing to delete.
    expect(await readdir(path.join(dir, LEASE_DIR))).toEqual([]);
    const after = await vacuum(store, AGGRESSIVE);
    expect(after).toMatchObject({ writesInFlight: 0, filesKeptInFlight: 0, filesDeleted: 0 });
    expect(await readRows(store)).toHaveLength(160);
  });

  test('a commit landing after vacuum listed the files but before it read the leases is seen in the log', async () => {
    const { dir, store } = tempTable('lease-order');
    await writeTable(store, batch(1000, 10), { partitionBy: ['day'] });
    const w = pausedWrite(store);
    await w.paused;
    await sleep(20);
    // The write commits (and drops its lease) just as vacuum turns from listing files to leases.
    const racing = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop !== 'list') return Reflect.get(target, prop, receiver);
        return (prefix: string, opts?: object) => {
          if (!prefix.startsWith(LEASE_DIR)) return target.list(prefix, opts);
          return (async function* () {
            w.resume();
            await w.written;
            yield* target.list(prefix, opts);
          })();
        };
      },
    }) as ObjectStore;
    const m = await vacuum(racing, AGGRESSIVE);
    expect(m.writesInFlight).toBe(0);
    expect(m.filesDeleted).toBe(0);
    expect(await readRows(store)).toHaveLength(160);
    const snap = await Snapshot.load(store);
    expect((await dataFiles(dir)).length).toBe(snap.numFiles);
  });

  test('a failed write releases its lease: its orphans go at the next vacuum', async () => {
    const { dir, store } = tempTable('lease-failed');
    await writeTable(store, batch(1000, 10), { partitionBy: ['day'] });
    async function* failing(): AsyncGenerator<RecordBatch> {
      yield batch(0, 50);
      yield batch(50, 50);
      throw new Error('input broke');
    }
    await expect(writeTable(store, failing(), { partitionBy: ['day'], targetFileSize: 1 })).rejects.toThrow(
      'input broke',
    );
    const orphans = (await dataFiles(dir)).length - (await Snapshot.load(store)).numFiles;
    expect(orphans).toBeGreaterThan(0);
    await sleep(20);
    const m = await vacuum(store, AGGRESSIVE);
    expect(m).toMatchObject({ writesInFlight: 0, filesDeleted: orphans });
    expect(await readRows(store)).toHaveLength(10);
  });

  test("a killed writer's lease protects its files until it expires; long-expired lease files are deleted", async () => {
    const { dir, store } = tempTable('lease-killed');
    await writeTable(store, batch(1000, 10), { partitionBy: ['day'] });
    const lease = new WriteLease(store, 'WRITE');
    await lease.ensure(); // then "killed": never released
    await store.put('day=d0/part-orphan.parquet', new Uint8Array([1, 2, 3]));
    await sleep(20);
    const live = await vacuum(store, AGGRESSIVE);
    expect(live).toMatchObject({ writesInFlight: 1, filesKeptInFlight: 1, filesDeleted: 0 });
    // Past its expiry (and the clock-skew allowance) it protects nothing...
    const expired = await vacuum(store, {
      ...AGGRESSIVE,
      now: Date.now() + LEASE_TTL_MS + CLOCK_SKEW_MS + 1000,
    });
    expect(expired).toMatchObject({ writesInFlight: 0, filesDeleted: 1 });
    expect(await readdir(path.join(dir, LEASE_DIR))).toHaveLength(1);
    // ...and an hour later vacuum deletes the lease file itself.
    await vacuum(store, {
      ...AGGRESSIVE,
      now: Date.now() + LEASE_TTL_MS + EXPIRED_LEASE_GRACE_MS + CLOCK_SKEW_MS + 1000,
    });
    expect(await readdir(path.join(dir, LEASE_DIR))).toEqual([]);
    expect(await readRows(store)).toHaveLength(10);
    await lease.release();
  });

  test('a writer whose lease lapsed refuses to commit, with an error that says why', async () => {
    const { store } = tempTable('lease-lapsed');
    let now = Date.now();
    const lease = new WriteLease(store, 'OPTIMIZE', () => now);
    lease.assertHeld(); // nothing written under it yet: nothing to protect
    await lease.ensure();
    lease.assertHeld();
    now += LEASE_TTL_MS;
    expect(() => lease.assertHeld()).toThrow(
      /OPTIMIZE: the write lease _lakehouse\/leases\/[0-9a-f]+\.json was last renewed 600 s ago; a VACUUM may have deleted the files written so far, so nothing was committed\. Retry/,
    );
    await lease.release();
  });

  test('optimize and delete hold leases too: vacuum at retention 0 running beside them loses no row', async () => {
    const { store } = tempTable('lease-ops');
    for (let i = 0; i < 6; i++) await writeTable(store, batch(i * 100, 100), { partitionBy: ['day'] });
    // Vacuum in a tight loop while optimize and delete run.
    let stop = false;
    const vacuums = (async () => {
      let runs = 0;
      while (!stop) {
        await vacuum(store, AGGRESSIVE);
        runs++;
      }
      return runs;
    })();
    await optimize(store);
    await deleteRows(store, { predicate: 'id < 50' });
    stop = true;
    expect(await vacuums).toBeGreaterThan(0);
    expect(await readRows(store)).toHaveLength(550);
    const snap = await Snapshot.load(store);
    for (const add of snap.activeFiles()) await expect(store.head(add.path)).resolves.toBeTruthy();
  });
});
