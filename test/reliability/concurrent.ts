import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createTable } from '../../lib/ops/create.js';
import { tableHistory } from '../../lib/ops/history.js';
import { checkTable, openTable, record, runWorker, startBackend, type BackendName } from './harness.js';

export const APPEND_SCHEMA = 'id:long,writer:int,seq:int';
export const ROWS_PER_APPEND = 5;

export interface ConcurrentOptions {
  backend: BackendName;
  writers: number;
  commitsPerWriter: number;
  /** For the README: the command that reproduces this run. */
  command: string;
}

/**
 * Scenario 1: `writers` processes append `commitsPerWriter` commits each to one table while one
 * process loops OPTIMIZE and another loops VACUUM at retention 0 with force (files written and not
 * yet committed survive it through the writers' write leases). Then: the row count is
 * exactly what was acknowledged, every acknowledged batch is there once, every version loads, no
 * active file is missing, no version is held by two commits, and lost races were retried.
 */
export async function runConcurrentWriters(o: ConcurrentOptions) {
  const backend = await startBackend(o.backend);
  try {
    const uri = backend.newTableUri('concurrent');
    const store = await openTable(uri, backend.storageOptions);
    await createTable(store, { schema: APPEND_SCHEMA });
    const stopFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'lk-rel-stop-')), 'stop');
    const optimizer = runWorker('optimize', uri, backend.storageOptions, { stopFile });
    const vacuumer = runWorker('vacuum', uri, backend.storageOptions, { stopFile });
    const writers = Array.from({ length: o.writers }, (_, i) =>
      runWorker('append', uri, backend.storageOptions, { writer: i + 1, commits: o.commitsPerWriter }),
    );
    const writerExits = await Promise.all(writers.map((w) => w.exit));
    writeFileSync(stopFile, '');
    const [optExit, vacExit] = await Promise.all([optimizer.exit, vacuumer.exit]);
    for (const [i, e] of writerExits.entries()) {
      if (e.code !== 0) throw new Error(`writer ${i + 1} exited with ${e.code}: ${e.stderr}`);
    }
    if (optExit.code !== 0) throw new Error(`optimize loop exited with ${optExit.code}: ${optExit.stderr}`);
    if (vacExit.code !== 0) throw new Error(`vacuum loop exited with ${vacExit.code}: ${vacExit.stderr}`);

    const acks = writers.flatMap((w) => w.acks);
    const check = await checkTable(store);
    const history = await tableHistory(store);
    const versions = acks.map((a) => a.version!);
    const conflicts = writerExits.reduce((s, e) => s + Number(e.done?.conflicts ?? 0), 0);
    const gaveUp = writerExits.reduce((s, e) => s + Number(e.done?.errors ?? 0), 0);
    const missingBatches = acks.filter((a) => check.batches.get(`${a.writer}/${a.seq}`) !== ROWS_PER_APPEND);
    const result = {
      acks: acks.length,
      distinctAckVersions: new Set(versions).size,
      writeCommits: history.filter((h) => h.operation === 'WRITE').length,
      rows: check.rows,
      batchesFound: check.batches.size,
      missingBatches: missingBatches.length,
      versionsLoaded: check.versionsLoaded,
      latest: check.version,
      activeFiles: check.activeFiles,
      conflicts,
      gaveUp,
      optimizeRuns: Number(optExit.done?.runs ?? 0),
      optimizeErrors: optExit.done?.lastErrors,
      vacuumRuns: Number(vacExit.done?.runs ?? 0),
      vacuumErrors: vacExit.done?.lastErrors,
    };
    record({
      scenario: `concurrent ${o.writers}x${o.commitsPerWriter} + optimize + vacuum(0 h, force)`,
      backend: o.backend,
      runs: 1,
      faultsInjected: `${conflicts} lost commit races`,
      commitsAcknowledged: acks.length,
      commitsFound: result.writeCommits,
      rowsLost: acks.reduce(
        (s, a) => s + Math.max(0, ROWS_PER_APPEND - (check.batches.get(`${a.writer}/${a.seq}`) ?? 0)),
        0,
      ),
      extra: result,
      command: o.command,
    });
    return { ...result, expectedRows: o.writers * o.commitsPerWriter * ROWS_PER_APPEND };
  } finally {
    await backend.stop();
  }
}
