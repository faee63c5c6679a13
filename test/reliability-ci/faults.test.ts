import { DEFAULT_FAULTS, runStorageFaults } from '../reliability/faults.js';
import type { BackendName } from '../reliability/harness.js';

// Shortened scenario 3 (full: test/reliability/faults.test.ts, npm run test:reliability): errors,
// timeouts, slow calls and lost answers on every path (data files included), fixed seed.
describe.each<BackendName>(['local', 'minio'])('reliability (CI): storage faults on %s', (backend) => {
  test('appends, optimize and checkpoint through injected faults: clear errors, nothing lost or doubled', async () => {
    const appends = 15;
    const r = await runStorageFaults({
      backend,
      appends,
      plan: { seed: 7, ...DEFAULT_FAULTS },
      command: 'npm run test:unit -- test/reliability-ci/faults.test.ts',
    });
    expect(r.unclearFailures).toEqual([]);
    expect(r.injected.error + r.injected.timeout + r.injected['lost-answer']).toBeGreaterThan(0);
    expect(r.appendsAcknowledged).toBe(appends);
    expect(r.batchesFound).toBe(appends);
    expect(r.writeCommits).toBe(appends);
    expect(r.doubledBatches).toBe(0);
    expect(r.rowsLost).toBe(0);
    expect(r.versionsLoaded).toBe(r.latest + 1);
  }, 600_000);
});
