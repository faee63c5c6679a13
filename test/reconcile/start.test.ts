/**
 * `npm start` end to end, as a new user runs it: in a fresh copy of the package (bin, build,
 * examples; no cloud, no Kubernetes), twice. The first run creates the example tables, appends
 * sample data and compacts it; the second appends the next days and maintenance runs again.
 */
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Snapshot } from '../../lib/delta/snapshot.js';
import { tableHistory } from '../../lib/ops/history.js';
import { LocalObjectStore } from '../../lib/storage/index.js';

const REPO = path.resolve('.');
let copy: string;

beforeAll(async () => {
  copy = await fs.mkdtemp(path.join(os.tmpdir(), 'lakehouse-start-'));
  await fs.cp(path.join(REPO, 'bin'), path.join(copy, 'bin'), { recursive: true });
  await fs.cp(path.join(REPO, 'dist', 'lib'), path.join(copy, 'dist', 'lib'), { recursive: true });
  await fs.cp(path.join(REPO, 'examples'), path.join(copy, 'examples'), { recursive: true });
  await fs.copyFile(path.join(REPO, 'package.json'), path.join(copy, 'package.json'));
  await fs.symlink(path.join(REPO, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
});
afterAll(async () => {
  await fs.rm(copy, { recursive: true, force: true });
});

function start() {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['bin/lakehouse.js', 'start'], { cwd: copy, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

const tableDir = (...p: string[]) => path.join(copy, '.lakehouse', ...p);

describe('npm start', () => {
  test('first run: creates the example tables, appends sample data, compacts; second run appends and maintains', async () => {
    const first = start();
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const out1 = first.stdout;
    expect(out1).toMatch(/^lakehouse start: the order-fallout pipeline on local disk$/m);
    expect(out1).toMatch(/^ {2}definitions {2}examples\/lakehouse\/ /m);
    for (const name of [
      'fallout-predictions',
      'order-features',
      'model-registry',
      'raw-order-fallouts',
      'scoring-session-cache',
    ]) {
      expect(out1).toMatch(new RegExp(`^ {3}${name}: created \\(version 0\\)$`, 'm'));
    }
    expect(out1).toMatch(/^ {3}5 tables: 5 created/m);
    expect(out1).toMatch(/^ {3}raw-order-fallouts +\+90,000 rows in 30 appends/m);
    expect(out1).toMatch(/^ {3}235,004 rows in 92 appends\.$/m);
    expect(out1).toMatch(/^ {3}raw-order-fallouts: maintained \(version 30 -> 31\)$/m);
    expect(out1).toMatch(/done +compaction: merged 30 files into 3 in 3 partitions/);
    // order-features compacts only inside its maintenance window (01:00-05:00 Europe/Berlin).
    expect(out1).toMatch(
      /compaction: due \(.*\), waiting for the maintenance window "0 1 \* \* \*" \(Europe\/Berlin\)/,
    );

    const raw = new LocalObjectStore(tableDir('raw', 'order_fallout', 'order_fallouts'));
    const snap = await Snapshot.load(raw);
    expect(snap.version).toBe(31);
    expect(snap.numFiles).toBe(3);
    expect(snap.partitionColumns).toEqual(['event_date']);
    const registry = new LocalObjectStore(tableDir('models', 'registry', 'model_versions'));
    expect((await Snapshot.load(registry)).numFiles).toBe(1);
    // Model artifacts referenced by the registry exist in the models zone.
    const artifacts = await fs.readdir(tableDir('models', 'artifacts', 'order-fallout', 'fallout-gbm'));
    expect(artifacts.sort()).toEqual(['v1.0', 'v1.1', 'v1.2', 'v1.3']);

    const second = start();
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    const out2 = second.stdout;
    expect(out2).toMatch(/^ {3}Nothing to do: all 5 tables match their definitions/m);
    expect(out2).toMatch(/days 2026-10-04\.\.2026-10-06/);
    expect(out2).toMatch(/^ {3}raw-order-fallouts: maintained \(version 61 -> 62\)$/m);
    expect(out2).toMatch(/files +33 files, .* 33 small {2}-> {2}6 files/);
    const ops = (await tableHistory(raw, { limit: 31 })).map((h) => h.operation);
    expect(ops[0]).toBe('OPTIMIZE');
    expect(ops.filter((o) => o === 'WRITE')).toHaveLength(30);
    // Nothing was written into the package itself.
    expect((await fs.readdir(path.join(copy, 'examples', 'lakehouse'))).sort()).toEqual(
      (await fs.readdir(path.join(REPO, 'examples', 'lakehouse'))).sort(),
    );
    process.stdout.write(`npm start: first run ${first.ms} ms, second run ${second.ms} ms\n`);
  }, 600_000);
});
