import { mkdirSync, mkdtempSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createTable } from '../../lib/ops/create.js';
import { vacuum } from '../../lib/ops/vacuum.js';
import { LocalObjectStore } from '../../lib/storage/local.js';

// Finding of scenario 2: a put killed between writing its temporary file and linking it leaves
// `.<name>.<uuid>.lakehouse-tmp`, hidden from listings. VACUUM removes those older than its
// cutoff and never a younger one (a put may still be writing it).
test('vacuum removes abandoned local temporary files older than the retention, keeps younger ones', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lk-tmpfiles-'));
  const store = new LocalObjectStore(dir);
  await createTable(store, { schema: 'id:long' });
  const old = [
    '.part-00000-a.c000.snappy.parquet.11111111-1111-4111-8111-111111111111.lakehouse-tmp',
    '_delta_log/.00000000000000000001.json.22222222-2222-4222-8222-222222222222.lakehouse-tmp',
    'p=1/.part-00001-b.c000.snappy.parquet.33333333-3333-4333-8333-333333333333.lakehouse-tmp',
  ];
  const young = '.part-00002-c.c000.snappy.parquet.44444444-4444-4444-8444-444444444444.lakehouse-tmp';
  const twoHoursAgo = (Date.now() - 2 * 3_600_000) / 1000;
  for (const rel of old) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), 'partial');
    utimesSync(path.join(dir, rel), twoHoursAgo, twoHoursAgo);
  }
  writeFileSync(path.join(dir, young), 'still being written');
  const m = await vacuum(store, { retentionHours: 1, force: true });
  expect(m.temporaryFilesDeleted).toBe(3);
  for (const rel of old) expect(existsSync(path.join(dir, rel))).toBe(false);
  expect(existsSync(path.join(dir, young))).toBe(true);
  // At retention 0 a fresh temporary file is still a live put's (found racing a lease renewal).
  const fresh = '_lakehouse/leases/.0123456789abcdef.json.55555555-5555-4555-8555-555555555555.lakehouse-tmp';
  mkdirSync(path.dirname(path.join(dir, fresh)), { recursive: true });
  writeFileSync(path.join(dir, fresh), 'being renamed');
  await vacuum(store, { retentionHours: 0, force: true });
  expect(existsSync(path.join(dir, fresh))).toBe(true);
  expect(existsSync(path.join(dir, young))).toBe(true);
  // A dry run deletes nothing.
  utimesSync(path.join(dir, young), twoHoursAgo, twoHoursAgo);
  await vacuum(store, { retentionHours: 1, force: true, dryRun: true });
  expect(existsSync(path.join(dir, young))).toBe(true);
});
