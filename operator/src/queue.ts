/**
 * The work queue of the controller, after client-go's: a key is never processed by two workers at
 * once (work for one table is serialized), at most `concurrency` keys are processed at the same
 * time, a key added while it is processed is processed once more afterwards, failures come back
 * with exponential backoff, and `addAfter` schedules a key for a time without polling.
 */

/** What a handler asks for after a successful pass: come back after this many ms, or not at all. */
export interface HandlerResult {
  readonly requeueAfterMs?: number;
}

export interface WorkQueueOptions {
  /** Keys processed at the same time. Default 4. */
  readonly concurrency?: number;
  /** Processes one key. Throwing (or rejecting) requeues the key with backoff. */
  readonly handler: (key: string) => Promise<HandlerResult | void>;
  /** First retry delay after a failure, doubled on each further failure. Default 1 s. */
  readonly baseDelayMs?: number;
  /** Longest retry delay. Default 5 min. */
  readonly maxDelayMs?: number;
  /** Called after the handler failed, with the delay before the retry. */
  readonly onError?: (key: string, err: unknown, retryInMs: number) => void;
  /** Called whenever the number of waiting keys changes. */
  readonly onDepth?: (depth: number) => void;
}

export class WorkQueue {
  private readonly ready: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly concurrency: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private stopped = false;

  constructor(private readonly options: WorkQueueOptions) {
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 300_000;
  }

  /** Keys waiting to be processed (not counting those being processed or scheduled for later). */
  get depth(): number {
    return this.ready.length;
  }

  /** Keys being processed now. */
  get active(): number {
    return this.processing.size;
  }

  /** Process `key` as soon as a worker is free (once, however often it is added meanwhile). */
  add(key: string): void {
    if (this.stopped || this.queued.has(key)) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    this.cancelTimer(key);
    this.queued.add(key);
    this.ready.push(key);
    this.options.onDepth?.(this.ready.length);
    this.pump();
  }

  /** Process `key` after `ms`; an earlier pending time for the key wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    // Timers longer than ~24.8 days overflow setTimeout; a resync comes long before.
    const timer = setTimeout(
      () => {
        this.timers.delete(key);
        this.add(key);
      },
      Math.min(ms, 2 ** 31 - 1),
    );
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Forget a key: its pending time and failure count (the object is gone). */
  forget(key: string): void {
    this.cancelTimer(key);
    this.failures.delete(key);
  }

  /** Stop taking work, drop pending times, and wait until the keys being processed are done. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.ready.length = 0;
    this.queued.clear();
    await Promise.all([...this.inFlight]);
  }

  private cancelTimer(key: string): void {
    const pending = this.timers.get(key);
    if (pending) {
      clearTimeout(pending.timer);
      this.timers.delete(key);
    }
  }

  private pump(): void {
    while (!this.stopped && this.processing.size < this.concurrency && this.ready.length > 0) {
      const key = this.ready.shift()!;
      this.queued.delete(key);
      this.processing.add(key);
      this.options.onDepth?.(this.ready.length);
      const job = this.process(key);
      this.inFlight.add(job);
      void job.finally(() => this.inFlight.delete(job));
    }
  }

  private async process(key: string): Promise<void> {
    try {
      const result = await this.options.handler(key);
      this.failures.delete(key);
      if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
    } catch (err) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(n - 1, 30));
      this.options.onError?.(key, err, delay);
      this.addAfter(key, delay);
    } finally {
      this.processing.delete(key);
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }
}
