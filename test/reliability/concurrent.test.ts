import { runConcurrentWriters } from './concurrent.js';
import { backendsFromEnv, intFromEnv } from './harness.js';

// Full scenario 1. RELIABILITY_WRITERS (8), RELIABILITY_COMMITS (100), RELIABILITY_BACKENDS
// (local,minio,azurite,fake-gcs).
const writers = intFromEnv('RELIABILITY_WRITERS', 8);
const commits = intFromEnv('RELIABILITY_COMMITS', 100);

describe.each(backendsFromEnv('RELIABILITY_BACKENDS', ['local', 'minio', 'azurite', 'fake-gcs']))(
  'reliability: concurrent writers on %s',
  (backend) => {
    test(`${writers} writers x ${commits} appends with optimize and vacuum looping`, async () => {
      const r = await runConcurrentWriters({
        backend,
        writers,
        commitsPerWriter: commits,
        command: `RELIABILITY_BACKENDS=${backend} RELIABILITY_WRITERS=${writers} RELIABILITY_COMMITS=${commits} npm run test:reliability -- test/reliability/concurrent.test.ts`,
      });
      expect(r.acks).toBe(writers * commits);
      expect(r.distinctAckVersions).toBe(writers * commits);
      expect(r.writeCommits).toBe(writers * commits);
      expect(r.rows).toBe(r.expectedRows);
      expect(r.missingBatches).toBe(0);
      expect(r.versionsLoaded).toBe(r.latest + 1);
      expect(r.conflicts).toBeGreaterThan(0);
    });
  },
);
