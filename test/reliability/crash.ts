import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Snapshot } from '../../lib/delta/snapshot.js';
import { createTable } from '../../lib/ops/create.js';
import { vacuum } from '../../lib/ops/vacuum.js';
import { CLOCK_SKEW_MS, EXPIRED_LEASE_GRACE_MS, LEASE_TTL_MS } from '../../lib/delta/write-lease.js';
import { APPEND_SCHEMA, ROWS_PER_APPEND } from './concurrent.js';
import {
  checkTable,
  openTable,
  record,
  runWorker,
  seeded,
  startBackend,
  type BackendName,
} from './harness.js';

export type CrashOp = 'append' | 'optimize' | 'checkpoint' | 'vacuum';

export interface CrashOptions {
  backend: BackendName;
  /** Kills per operation. */
  runsPerOp: number;
  seed: number;
  command: string;
}

export interface CrashResult {
  kills: Record<CrashOp, number>;
  /** Runs that finished before their kill time (the process had exited already). */
  finishedBeforeKill: number;
  acknowledgedAppends: number;
  foundAppends: number;
  rowsLost: number;
  doubledBatches: number;
  versionsLoaded: number;
  latest: number;
  /** Unreferenced files left behind by killed processes, before and after the final vacuum. */
  debrisBefore: number;
  debrisAfter: number;
  /** What the final vacuum left behind (paths). */
  debrisLeft: string[];
  /**
   * Local disk: temporary files of puts killed mid-way (`.<name>.<uuid>.lakehouse-tmp`), hidden
   * from listings; before the final vacuum, and what it left (it removes those older than its cutoff).
   */
  tempFilesBefore: number;
  hiddenTempFilesLeft: string[];
  /** Files the final vacuum deleted. */
  vacuumDeleted: number;
  /** A vacuum right after the kills: killed writers' leases still protect their files. */
  earlyVacuum: { deleted: number; keptForWritesInFlight: number; leasesOfKilledWriters: number };
}

/**
 * Scenario 2: for each round, start a writer, OPTIMIZE, CHECKPOINT and VACUUM process in turn on
 * one table and SIGKILL it after a seeded random delay (start-up included, so kills land before,
 * during and after the work). After every kill the table must load with every acknowledged
 * commit; at the end every version loads, no batch is doubled, and a vacuum removes the debris.
 */
export async function runCrashInjection(o: CrashOptions): Promise<CrashResult> {
  const backend = await startBackend(o.backend);
  const random = seeded(o.seed);
  try {
    const uri = backend.newTableUri('crash');
    const store = await openTable(uri, backend.storageOptions);
    // Checkpoints often, so kills land inside the automatic checkpoint of a write too.
    await createTable(store, { schema: APPEND_SCHEMA, properties: { 'delta.checkpointInterval': '3' } });
    const kills: Record<CrashOp, number> = { append: 0, optimize: 0, checkpoint: 0, vacuum: 0 };
    const acked = new Set<string>();
    let finishedBeforeKill = 0;
    let writer = 0;
    const ops: CrashOp[] = ['append', 'optimize', 'checkpoint', 'vacuum'];
    // How long each operation takes when not killed (from its `begin`), to aim kills inside it.
    const duration: Record<CrashOp, number> = { append: 2000, optimize: 500, checkpoint: 300, vacuum: 500 };
    let checkedUpTo = 0;
    for (let round = 0; round < o.runsPerOp; round++) {
      for (const op of ops) {
        if (op === 'append') writer++;
        const w = runWorker(op, uri, backend.storageOptions, { writer, commits: 1000 });
        // Kill at a seeded point of the work itself; a run that ends first teaches how long the
        // operation takes, so later kills land inside it. Appends loop until killed: the clock
        // starts at their first acknowledged commit (slow to come on a loaded machine and a
        // cloud store), so every killed writer leaves acknowledged commits to check.
        const fraction = random();
        let delay = -1;
        let timer: NodeJS.Timeout | undefined;
        const began = await Promise.race([op === 'append' ? w.firstAck : w.began, w.exit.then(() => -1)]);
        if (began >= 0) {
          delay = Math.floor(fraction * duration[op] * 1.1);
          timer = setTimeout(() => w.child.kill('SIGKILL'), delay);
        }
        const exit = await w.exit;
        clearTimeout(timer);
        if (exit.signal === 'SIGKILL') kills[op]++;
        else if (exit.code === 0) {
          finishedBeforeKill++;
          if (began >= 0)
            duration[op] = Math.max(50, Math.round(0.7 * duration[op] + 0.3 * (Date.now() - began)));
        } else throw new Error(`${op} (round ${round}) failed by itself: ${exit.stderr}`);
        if (op === 'append') for (const a of w.acks) acked.add(`${a.writer}/${a.seq}`);
        // After every kill: the table loads and holds every acknowledged append.
        const snap = await Snapshot.load(store).catch((err: unknown) => {
          throw new Error(
            `after killing ${op} at ${delay} ms (round ${round}) the table does not load: ${String(err)}`,
          );
        });
        if (op === 'append' || round % 5 === 0) {
          const check = await checkTable(store, { fromVersion: checkedUpTo });
          progress({
            backend: o.backend,
            seed: o.seed,
            round,
            kills,
            finishedBeforeKill,
            acknowledged: acked.size,
            found: check.batches.size,
            latest: check.version,
          });
          checkedUpTo = check.version + 1;
          for (const key of acked) {
            if (check.batches.get(key) !== ROWS_PER_APPEND)
              throw new Error(
                `after killing ${op} (round ${round}, version ${snap.version}) batch ${key} is lost`,
              );
          }
        }
      }
    }
    const check = await checkTable(store);
    let rowsLost = 0;
    for (const key of acked) rowsLost += Math.max(0, ROWS_PER_APPEND - (check.batches.get(key) ?? 0));
    const doubled = [...check.batches.values()].filter((n) => n !== ROWS_PER_APPEND).length;

    const before = await countDebris(store, uri, backend.name);
    const debrisBefore = before.length;
    const tempFilesBefore = before.filter((p) => p.endsWith('.lakehouse-tmp')).length;
    // Killed writers never released their write leases: a vacuum now keeps their debris...
    const early = await vacuum(store, { retentionHours: 0, force: true });
    // ...and one run after the leases expired (and their files' grace passed) removes it all.
    const m = await vacuum(store, {
      retentionHours: 0,
      force: true,
      now: Date.now() + LEASE_TTL_MS + EXPIRED_LEASE_GRACE_MS + CLOCK_SKEW_MS + 1000,
    });
    const left = await countDebris(store, uri, backend.name);
    const hiddenTempFilesLeft = left.filter((p) => p.endsWith('.lakehouse-tmp'));
    const debrisLeft = left.filter((p) => !p.endsWith('.lakehouse-tmp'));
    const debrisAfter = debrisLeft.length;
    await checkTable(store); // vacuum removed nothing live
    const result: CrashResult = {
      kills,
      finishedBeforeKill,
      acknowledgedAppends: acked.size,
      foundAppends: check.batches.size,
      rowsLost,
      doubledBatches: doubled,
      versionsLoaded: check.versionsLoaded,
      latest: check.version,
      debrisBefore,
      debrisAfter,
      debrisLeft,
      tempFilesBefore,
      hiddenTempFilesLeft,
      vacuumDeleted: m.filesDeleted,
      earlyVacuum: {
        deleted: early.filesDeleted,
        keptForWritesInFlight: early.filesKeptInFlight,
        leasesOfKilledWriters: early.writesInFlight,
      },
    };
    record({
      scenario: `crash: kill -9 append/optimize/checkpoint/vacuum (seed ${o.seed})`,
      backend: o.backend,
      runs: Object.values(kills).reduce((s, n) => s + n, 0) + finishedBeforeKill,
      faultsInjected: `${Object.values(kills).reduce((s, n) => s + n, 0)} SIGKILLs (${ops.map((k) => `${k} ${kills[k]}`).join(', ')})`,
      commitsAcknowledged: acked.size,
      commitsFound: check.batches.size,
      rowsLost,
      extra: { ...result },
      command: o.command,
    });
    return result;
  } finally {
    await backend.stop();
  }
}

/**
 * The state after each check, overwritten in $RELIABILITY_OUT/crash-progress-<backend>.json: a run
 * stopped early still tells how far it got (every check up to there passed).
 */
function progress(state: Record<string, unknown>): void {
  const dir = process.env.RELIABILITY_OUT ?? path.join(os.tmpdir(), 'lakehouse-reliability');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, `crash-progress-${String(state.backend)}.json`),
    JSON.stringify({ ...state, at: new Date().toISOString() }),
  );
}

/**
 * Files under the table that no version reads: unreferenced data files through the store, plus,
 * on local disk, temporary files of interrupted puts (hidden from listings) anywhere in the tree.
 */
async function countDebris(
  store: Awaited<ReturnType<typeof openTable>>,
  uri: string,
  backend: BackendName,
): Promise<string[]> {
  const snap = await Snapshot.load(store);
  const live = new Set([...snap.activeFilesIterator()].map((a) => decodeURIComponent(a.path)));
  const found: string[] = [];
  for await (const meta of store.list('')) {
    if (meta.path.startsWith('_delta_log/')) continue;
    if (!live.has(meta.path)) found.push(meta.path);
  }
  if (backend === 'local') {
    const dir = fileURLToPath(uri);
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else if (e.name.endsWith('.lakehouse-tmp')) found.push(path.relative(dir, path.join(d, e.name))); // LocalObjectStore's temporary files
      }
    };
    walk(dir);
  }
  return found;
}
