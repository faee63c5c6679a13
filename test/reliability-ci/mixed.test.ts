import { runMixedWriters } from '../reliability/mixed.js';

// Shortened scenario 1b (full: test/reliability/mixed.test.ts, npm run test:reliability).
describe.each(['local', 'minio'] as const)(
  'reliability (CI): our writers and delta-rs writers on %s',
  (backend) => {
    test('2 of ours + 2 delta-rs writers x 5 appends: both readers see every acknowledged append once', async () => {
      const r = await runMixedWriters({
        backend,
        ourWriters: 2,
        peerWriters: 2,
        commitsPerWriter: 5,
        command: 'npm run test:unit -- test/reliability-ci/mixed.test.ts',
      });
      expect(r.peerFailures).toEqual([]);
      expect(r.ourAcks).toBe(10);
      expect(r.peerAcks).toBe(10);
      expect(r.missingInOurs).toEqual([]);
      expect(r.missingInPeer).toEqual([]);
      expect(r.disagreements).toBe(0);
      expect(r.oursSees).toBe(20);
      expect(r.rowsOurs).toBe(100);
      expect(r.rowsPeer).toBe(100);
      expect(r.versionsLoaded).toBe(r.latest + 1);
      expect(r.peerVersion).toBe(r.latest);
    }, 900_000);
  },
);
