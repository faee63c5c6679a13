/**
 * Run `fn` over `items` with at most `limit` calls in flight, yielding results in input order.
 * Later items are fetched while earlier ones are being consumed, so a slow consumer holds at
 * most `limit` results in memory. A rejection is raised when its turn comes.
 */
export async function* prefetchOrdered<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): AsyncGenerator<R> {
  const inFlight: Promise<R>[] = [];
  let next = 0;
  const launch = () => {
    const i = next++;
    const p = fn(items[i], i);
    // Avoid an unhandled rejection while the promise waits for its turn.
    p.catch(() => undefined);
    inFlight.push(p);
  };
  while (next < items.length && inFlight.length < limit) launch();
  while (inFlight.length > 0) {
    const value = await inFlight.shift()!;
    if (next < items.length) launch();
    yield value;
  }
}

/** Run `fn` over `items` with at most `limit` in flight; resolves when all are done. */
export async function forEachConcurrent<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
