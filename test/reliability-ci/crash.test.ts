import { runCrashInjection } from '../reliability/crash.js';
import type { BackendName } from '../reliability/harness.js';

// Shortened scenario 2 (full: test/reliability/crash.test.ts, npm run test:reliability): fixed
// seeds, 10 kills of each operation on local disk and 3 on MinIO.
describe.each<[BackendName, number, number]>([
  ['local', Number(process.env.RELIABILITY_CI_CRASH_RUNS ?? 10), 11],
  ['minio', Number(process.env.RELIABILITY_CI_CRASH_RUNS ?? 3), 12],
])('reliability (CI): crash injection on %s', (backend, runs, seed) => {
  test(`kill -9 append, optimize, checkpoint and vacuum ${runs} times each (seed ${seed})`, async () => {
    const r = await runCrashInjection({
      backend,
      runsPerOp: runs,
      seed,
      command: 'npm run test:unit -- test/reliability-ci/crash.test.ts',
    });
    expect(r.kills.append).toBe(runs);
    expect(r.kills.optimize + r.kills.checkpoint + r.kills.vacuum + r.finishedBeforeKill).toBe(3 * runs);
    expect(r.acknowledgedAppends).toBeGreaterThan(0);
    expect(r.rowsLost).toBe(0);
    expect(r.doubledBatches).toBe(0);
    expect(r.foundAppends).toBeGreaterThanOrEqual(r.acknowledgedAppends);
    expect(r.versionsLoaded).toBe(r.latest + 1);
    expect(r.debrisAfter).toBe(0);
    expect(r.hiddenTempFilesLeft).toEqual([]);
  }, 900_000);
});
