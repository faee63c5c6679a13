import { runConcurrentWriters } from '../reliability/concurrent.js';
import type { BackendName } from '../reliability/harness.js';

// Shortened scenario 1 (the full one: test/reliability/concurrent.test.ts, npm run test:reliability).
describe.each<BackendName>(['local', 'minio'])('reliability (CI): concurrent writers on %s', (backend) => {
  test('4 writers x 10 appends with optimize and vacuum(retention 0, force) looping: nothing lost, nothing doubled', async () => {
    const r = await runConcurrentWriters({
      backend,
      writers: 4,
      commitsPerWriter: 10,
      command: `npm run test:unit -- test/reliability-ci/concurrent.test.ts`,
    });
    expect(r.acks).toBe(40);
    expect(r.distinctAckVersions).toBe(40);
    expect(r.writeCommits).toBe(40);
    expect(r.rows).toBe(r.expectedRows);
    expect(r.batchesFound).toBe(40);
    expect(r.missingBatches).toBe(0);
    expect(r.versionsLoaded).toBe(r.latest + 1);
    expect(r.optimizeRuns).toBeGreaterThan(0);
    expect(r.vacuumRuns).toBeGreaterThan(0);
    // Four processes racing for each version: some lose, and every loser retried (all acked).
    expect(r.conflicts).toBeGreaterThan(0);
  }, 600_000);
});
