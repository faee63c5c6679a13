// One process of the reliability scenarios, run against the built library (dist/).
// argv: <op> <table-uri> where op is append | optimize | vacuum | checkpoint.
// Environment: RELIABILITY_STORAGE_OPTIONS (JSON), RELIABILITY_WRITER (writer id),
// RELIABILITY_COMMITS (appends to make), RELIABILITY_STOP (a file: loops stop when it exists).
// Output, one line each, flushed before the next step (stdout to a pipe is synchronous on Linux):
//   begin                                    started (imports done, store open), work follows
//   ack {"version":V,"writer":W,"seq":S}   an append whose commit returned success
//   done {...counters}                       at a clean end
// A lost race on a commit (put-if-absent refused) is counted as a conflict: the transaction
// retries it at the next version by itself.
import { existsSync } from 'node:fs';
import { openStore } from '../../../dist/lib/storage/index.js';
import { writeTable } from '../../../dist/lib/ops/write.js';
import { optimize } from '../../../dist/lib/ops/optimize.js';
import { vacuum } from '../../../dist/lib/ops/vacuum.js';
import { checkpoint } from '../../../dist/lib/ops/checkpoint.js';
import { batchFromRows } from '../../../dist/lib/data/arrow-build.js';
import { deltaSchemaToArrow } from '../../../dist/lib/delta/arrow-schema.js';
import { resolveSchema } from '../../../dist/lib/ops/create.js';

const [op, uri] = process.argv.slice(2);
const options = JSON.parse(process.env.RELIABILITY_STORAGE_OPTIONS ?? '{}');
const writer = Number(process.env.RELIABILITY_WRITER ?? '0');
const commits = Number(process.env.RELIABILITY_COMMITS ?? '10');
const stopFile = process.env.RELIABILITY_STOP;
// Vacuum retention in hours: 0 (with force), as aggressive as VACUUM can be. The writers' write
// leases (lib/delta/write-lease.ts) keep the files they have written and not yet committed.
const vacuumHours = Number(process.env.RELIABILITY_VACUUM_HOURS ?? '0');
const inner = await openStore(uri, options);
const counters = { conflicts: 0, commits: 0, errors: 0, runs: 0 };
const lastErrors = [];
// Counts lost commit races; everything else passes straight through.
const store = new Proxy(inner, {
  get(target, prop) {
    if (prop === 'putIfAbsent') {
      return async (path, data) => {
        try {
          return await target.putIfAbsent(path, data);
        } catch (err) {
          if (err?.code === 'FILE_ALREADY_EXISTS' && path.startsWith('_delta_log/')) counters.conflicts++;
          throw err;
        }
      };
    }
    const v = target[prop];
    return typeof v === 'function' ? v.bind(target) : v;
  },
});
const stopped = () => stopFile !== undefined && existsSync(stopFile);
process.stdout.write('begin\n');
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

if (op === 'append') {
  const schema = deltaSchemaToArrow(resolveSchema('id:long,writer:int,seq:int'));
  for (let seq = 0; seq < commits;) {
    const rows = [];
    for (let i = 0; i < 5; i++) rows.push({ id: writer * 1_000_000 + seq * 5 + i, writer, seq });
    try {
      const m = await writeTable(store, batchFromRows(schema, rows));
      process.stdout.write(`ack ${JSON.stringify({ version: m.version, writer, seq })}\n`);
      counters.commits++;
      seq++;
    } catch (err) {
      // Gave up after many lost races: the ingest retries the same rows (nothing was committed).
      if (err?.code !== 'CONCURRENT_MODIFICATION') throw err;
      counters.errors++;
    }
  }
} else {
  // Maintenance loops until told to stop (or once, without a stop file).
  do {
    try {
      if (op === 'optimize') await optimize(store, { targetFileSize: 1 << 20 });
      else if (op === 'vacuum') await vacuum(store, { retentionHours: vacuumHours, force: true });
      else if (op === 'checkpoint') await checkpoint(store);
      else throw new Error(`unknown op ${op}`);
      counters.runs++;
      process.stdout.write(`ack ${JSON.stringify({ op, run: counters.runs })}\n`);
    } catch (err) {
      // Optimize loses to appends it conflicts with only through its own retry limit; count, go on.
      counters.errors++;
      lastErrors.push(`${err?.code ?? ''} ${err?.message ?? err}`.slice(0, 300));
      if (!stopFile) throw err;
    }
    if (stopFile) await pause(50);
  } while (stopFile && !stopped());
}
process.stdout.write(`done ${JSON.stringify({ ...counters, lastErrors: lastErrors.slice(-3) })}\n`);
await inner.close?.();
