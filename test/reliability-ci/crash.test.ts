import { runCrashInjection } from '../reliability/crash.js';

// Shortened scenario 2 (full: test/reliability/crash.test.ts, npm run test:reliability).
const runs = Number(process.env.RELIABILITY_CI_CRASH_RUNS ?? 10);

test('reliability (CI): kill -9 append, optimize, checkpoint and vacuum 10 times each on local disk (seed 11)', async () => {
  const r = await runCrashInjection({
    backend: 'local',
    runsPerOp: runs,
    seed: 11,
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
}, 900_000);
