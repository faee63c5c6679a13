import { runCrashInjection } from './crash.js';
import { backendsFromEnv, intFromEnv } from './harness.js';

// Full scenario 2. RELIABILITY_CRASH_RUNS (200 per operation), RELIABILITY_SEED (1),
// RELIABILITY_BACKENDS (local,minio).
const runs = intFromEnv('RELIABILITY_CRASH_RUNS', 200);
const seed = intFromEnv('RELIABILITY_SEED', 1);

describe.each(backendsFromEnv('RELIABILITY_BACKENDS', ['local', 'minio']))(
  'reliability: crash injection on %s',
  (backend) => {
    test(`kill -9 each operation ${runs} times (seed ${seed})`, async () => {
      const r = await runCrashInjection({
        backend,
        runsPerOp: runs,
        seed,
        command: `RELIABILITY_BACKENDS=${backend} RELIABILITY_CRASH_RUNS=${runs} RELIABILITY_SEED=${seed} npm run test:reliability -- test/reliability/crash.test.ts`,
      });
      expect(r.rowsLost).toBe(0);
      expect(r.doubledBatches).toBe(0);
      expect(r.foundAppends).toBeGreaterThanOrEqual(r.acknowledgedAppends);
      expect(r.versionsLoaded).toBe(r.latest + 1);
      expect(r.debrisAfter).toBe(0);
      expect(r.hiddenTempFilesLeft).toEqual([]);
    });
  },
);
