// One appender of the optimize-under-ingest test: appends small batches to a table through the
// built library (dist/) as fast as it can, until the stop file exists.
// argv: <table-dir or URI> <writer-id> <stop-file>; storage options (e.g. MinIO's) as JSON in
// LAKEHOUSE_TEST_STORAGE_OPTIONS. Prints "ready" after its first commit, then at the end one JSON
// line: { writer, appends, versions, retries }.
import { existsSync } from 'node:fs';
import { openStore } from '../../../dist/lib/storage/index.js';
import { writeTable } from '../../../dist/lib/ops/write.js';
import { batchFromRows } from '../../../dist/lib/data/arrow-build.js';
import { deltaSchemaToArrow } from '../../../dist/lib/delta/arrow-schema.js';
import { resolveSchema } from '../../../dist/lib/ops/create.js';

const [dir, writer, stopFile] = process.argv.slice(2);
const schema = deltaSchemaToArrow(resolveSchema('id:long,day:string,x:long,y:long,name:string'));
const store = await openStore(dir, JSON.parse(process.env.LAKEHOUSE_TEST_STORAGE_OPTIONS ?? '{}'));
const versions = [];
let retries = 0;
for (let seq = 0; !existsSync(stopFile);) {
  const rows = [];
  for (let i = 0; i < 10; i++) {
    const id = Number(writer) * 1_000_000 + seq * 10 + i;
    rows.push({ id, day: `d${id % 4}`, x: id % 1000, y: id % 997, name: `w${writer}` });
  }
  try {
    const m = await writeTable(store, batchFromRows(schema, rows));
    versions.push(m.version);
    seq++;
    if (seq === 1) process.stdout.write('ready\n');
  } catch (err) {
    // Ingest's own retry policy: a blind append that lost too many races is simply retried.
    if (err?.code !== 'CONCURRENT_MODIFICATION') throw err;
    retries++;
  }
}
await store.close?.();
process.stdout.write(`${JSON.stringify({ writer, appends: versions.length, versions, retries })}\n`);
