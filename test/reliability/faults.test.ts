import { DEFAULT_FAULTS, runStorageFaults } from './faults.js';
import { backendsFromEnv, intFromEnv } from './harness.js';

// Full scenario 3. RELIABILITY_FAULT_APPENDS (100), RELIABILITY_SEED (1), RELIABILITY_BACKENDS
// (local,minio,azurite,fake-gcs).
const appends = intFromEnv('RELIABILITY_FAULT_APPENDS', 100);
const seed = intFromEnv('RELIABILITY_SEED', 1);

describe.each(backendsFromEnv('RELIABILITY_BACKENDS', ['local', 'minio', 'azurite', 'fake-gcs']))(
  'reliability: storage faults on %s',
  (backend) => {
    test(`${appends} idempotent appends + optimize + checkpoint through injected faults (seed ${seed})`, async () => {
      const r = await runStorageFaults({
        backend,
        appends,
        plan: { seed, ...DEFAULT_FAULTS },
        command: `RELIABILITY_BACKENDS=${backend} RELIABILITY_FAULT_APPENDS=${appends} RELIABILITY_SEED=${seed} npm run test:reliability -- test/reliability/faults.test.ts`,
      });
      expect(r.unclearFailures).toEqual([]);
      expect(r.appendsAcknowledged).toBe(appends);
      expect(r.batchesFound).toBe(appends);
      expect(r.writeCommits).toBe(appends);
      expect(r.doubledBatches).toBe(0);
      expect(r.rowsLost).toBe(0);
      expect(r.versionsLoaded).toBe(r.latest + 1);
    });
  },
);
