import { runMixedWriters } from './mixed.js';
import { backendsFromEnv, intFromEnv } from './harness.js';

// Full scenario 1b. RELIABILITY_WRITERS (4 of ours and 4 delta-rs), RELIABILITY_COMMITS (100),
// RELIABILITY_BACKENDS (local,minio).
const writers = intFromEnv('RELIABILITY_WRITERS', 4);
const commits = intFromEnv('RELIABILITY_COMMITS', 100);

describe.each(backendsFromEnv('RELIABILITY_BACKENDS', ['local', 'minio']))(
  'reliability: our writers and delta-rs writers on %s',
  (backend) => {
    test(`${writers} + ${writers} writers x ${commits} appends`, async () => {
      if (backend !== 'local' && backend !== 'minio')
        throw new Error(`mixed writers run on local or minio, not ${backend}`);
      const r = await runMixedWriters({
        backend,
        ourWriters: writers,
        peerWriters: writers,
        commitsPerWriter: commits,
        command: `RELIABILITY_BACKENDS=${backend} RELIABILITY_WRITERS=${writers} RELIABILITY_COMMITS=${commits} npm run test:reliability -- test/reliability/mixed.test.ts`,
      });
      expect(r.peerFailures).toEqual([]);
      expect(r.ourAcks).toBe(writers * commits);
      expect(r.peerAcks).toBe(writers * commits);
      expect(r.missingInOurs).toEqual([]);
      expect(r.missingInPeer).toEqual([]);
      expect(r.disagreements).toBe(0);
      expect(r.versionsLoaded).toBe(r.latest + 1);
    });
  },
);
