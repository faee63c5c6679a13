import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Snapshot } from '../../lib/delta/snapshot.js';
import { batchFromRows } from '../../lib/data/arrow-build.js';
import { deltaSchemaToArrow } from '../../lib/delta/arrow-schema.js';
import { createTable, resolveSchema } from '../../lib/ops/create.js';
import { tableHistory } from '../../lib/ops/history.js';
import { writeTable } from '../../lib/ops/write.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { FaultStore } from '../reliability/fault-store.js';

// Regression test for the bug scenario 3 found: a commit whose put landed but whose answer was
// lost made the write fail (and a retry by the caller commit the same rows twice).
test('a commit whose put-if-absent lands but loses its answer is reported as committed, once', async () => {
  const inner = new LocalObjectStore(mkdtempSync(path.join(os.tmpdir(), 'lk-lost-')));
  await createTable(inner, { schema: 'id:long' });
  const store = new FaultStore(inner, {
    seed: 1,
    lostAnswer: 1,
    paths: (p) => /^_delta_log\/\d+\.json$/.test(p),
  });
  const batch = batchFromRows(deltaSchemaToArrow(resolveSchema('id:long')), [{ id: 1 }, { id: 2 }]);
  const m = await writeTable(store, batch);
  expect(store.injected['lost-answer']).toBe(1);
  expect(m.version).toBe(1);
  const snap = await Snapshot.load(inner);
  expect(snap.version).toBe(1);
  expect((await tableHistory(inner)).map((h) => h.operation)).toEqual(['WRITE', 'CREATE TABLE']);
});
