/** The controller's work queue: per-key serialization, bounded concurrency, backoff, timers. */
import { WorkQueue } from '../../operator/src/queue.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a key is never processed twice at once, and an add during processing runs it once more', async () => {
  let running = 0;
  let maxRunning = 0;
  const runs: string[] = [];
  const queue = new WorkQueue({
    concurrency: 4,
    handler: async (key) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      runs.push(key);
      await sleep(50);
      running--;
    },
  });
  queue.add('a');
  await sleep(10);
  queue.add('a');
  queue.add('a');
  await sleep(200);
  expect(runs).toEqual(['a', 'a']);
  expect(maxRunning).toBe(1);
  await queue.shutdown();
});

test('at most `concurrency` keys run at the same time', async () => {
  let running = 0;
  let maxRunning = 0;
  const queue = new WorkQueue({
    concurrency: 3,
    handler: async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await sleep(20);
      running--;
    },
  });
  for (let i = 0; i < 12; i++) queue.add(`k${i}`);
  expect(queue.depth).toBe(9);
  await sleep(200);
  expect(maxRunning).toBe(3);
  expect(queue.depth).toBe(0);
  await queue.shutdown();
});

test('failures come back with exponential backoff; success resets it', async () => {
  const times: number[] = [];
  const delays: number[] = [];
  const queue = new WorkQueue({
    baseDelayMs: 20,
    maxDelayMs: 1000,
    handler: async () => {
      times.push(Date.now());
      if (times.length <= 3) throw new Error('not yet');
    },
    onError: (_key, _err, retryInMs) => delays.push(retryInMs),
  });
  queue.add('x');
  await sleep(400);
  expect(times).toHaveLength(4);
  expect(delays).toEqual([20, 40, 80]);
  expect(times[3]! - times[2]!).toBeGreaterThanOrEqual(75);
  await queue.shutdown();
});

test('addAfter schedules a key once, the earliest time winning; shutdown drops pending work', async () => {
  const runs: number[] = [];
  const queue = new WorkQueue({ handler: async () => void runs.push(Date.now()) });
  const start = Date.now();
  queue.addAfter('t', 300);
  queue.addAfter('t', 60);
  queue.addAfter('t', 500);
  await sleep(150);
  expect(runs).toHaveLength(1);
  expect(runs[0]! - start).toBeGreaterThanOrEqual(55);
  queue.addAfter('t', 50);
  await queue.shutdown();
  await sleep(100);
  expect(runs).toHaveLength(1);
});

test('a handler asking to come back is requeued after that time', async () => {
  let n = 0;
  const queue = new WorkQueue({ handler: async () => (++n < 3 ? { requeueAfterMs: 30 } : {}) });
  queue.add('r');
  await sleep(250);
  expect(n).toBe(3);
  await queue.shutdown();
});
