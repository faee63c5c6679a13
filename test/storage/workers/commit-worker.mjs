// One writer process of the concurrent-commit test: N blind-append commits to one Delta table,
// through the built library (dist/), as a separate process would in production.
// argv: <table-uri> <storage-options-json> <writer-id> <commits>
import { openStore } from '../../../dist/lib/storage/index.js';
import { Snapshot, Transaction } from '../../../dist/lib/delta/index.js';

const [uri, optionsJson, writer, count] = process.argv.slice(2);
const store = await openStore(uri, JSON.parse(optionsJson));
let snapshot = await Snapshot.load(store);
let races = 0;
for (let i = 0; i < Number(count); i++) {
  const path = `part-w${writer}-${String(i).padStart(3, '0')}.parquet`;
  const tx = new Transaction(store, snapshot, { operation: 'WRITE', maxRetries: 1000 });
  tx.addActions([
    { add: { path, partitionValues: {}, size: 1, modificationTime: Date.now(), dataChange: true } },
  ]);
  const result = await tx.commit();
  if (result.postCommitError) throw result.postCommitError;
  races += result.attempts - 1;
  snapshot = await snapshot.update();
}
await store.close?.();
process.stdout.write(JSON.stringify({ writer, races }) + '\n');
