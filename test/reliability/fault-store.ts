import { LakehouseError } from '../../lib/errors.js';
import type { ListOptions, ObjectMeta, ObjectStore, PutOptions } from '../../lib/storage/index.js';
import { seeded } from './harness.js';

/** What the wrapper does to one call. */
export type Fault = 'none' | 'error' | 'timeout' | 'slow' | 'lost-answer';

export interface FaultPlan {
  seed: number;
  /** Probability of each fault per call (the rest pass through). */
  error?: number;
  timeout?: number;
  slow?: number;
  /** Only for writes (put, putStream, putIfAbsent, deleteMany): the call lands, its answer is lost. */
  lostAnswer?: number;
  /** How long a "timeout" waits before failing, and a "slow" call before proceeding. Default 30 / 20 ms. */
  timeoutMs?: number;
  slowMs?: number;
  /** Only calls whose path passes this are faulted. Default all. */
  paths?: (path: string) => boolean;
  /** Errors and timeouts only on calls whose path passes this (the other faults anywhere). Default all. */
  failurePaths?: (path: string) => boolean;
}

/**
 * An ObjectStore that injects faults, seeded, into the calls it passes to a real store: errors
 * before the call, timeouts, slow answers, and writes that land but whose answer is lost. Every
 * injected failure is a STORAGE_TRANSIENT LakehouseError, as the cloud backends raise when their
 * own retries are spent. `injected` counts what was done.
 */
export class FaultStore implements ObjectStore {
  readonly injected: Record<Fault, number> = { none: 0, error: 0, timeout: 0, slow: 0, 'lost-answer': 0 };
  private readonly random: () => number;
  /** Set false to pass every call through (e.g. to verify the table afterwards). */
  enabled = true;

  constructor(
    private readonly inner: ObjectStore,
    private readonly plan: FaultPlan,
  ) {
    this.random = seeded(plan.seed);
  }

  get root(): string {
    return this.inner.root;
  }

  private decide(path: string, write: boolean): Fault {
    if (!this.enabled || (this.plan.paths && !this.plan.paths(path))) return 'none';
    let r = this.random();
    const failures = !this.plan.failurePaths || this.plan.failurePaths(path);
    for (const [fault, p] of [
      ['error', failures ? this.plan.error : 0],
      ['timeout', failures ? this.plan.timeout : 0],
      ['slow', this.plan.slow],
      ['lost-answer', write ? this.plan.lostAnswer : 0],
    ] as const) {
      if (r < (p ?? 0)) return fault;
      r -= p ?? 0;
    }
    return 'none';
  }

  private async run<T>(op: string, path: string, write: boolean, call: () => Promise<T>): Promise<T> {
    const fault = this.decide(path, write);
    this.injected[fault]++;
    const fail = (what: string): LakehouseError =>
      new LakehouseError('STORAGE_TRANSIENT', `storage: ${op} ${path} ${what} (injected fault); retry later`);
    switch (fault) {
      case 'error':
        throw fail('failed: 503 Service Unavailable');
      case 'timeout':
        await sleep(this.plan.timeoutMs ?? 30);
        throw fail('timed out');
      case 'slow':
        await sleep(this.plan.slowMs ?? 20);
        return call();
      case 'lost-answer':
        await call();
        throw fail('lost its answer (the request may have been applied)');
      default:
        return call();
    }
  }

  get(path: string): Promise<Uint8Array> {
    return this.run('GET', path, false, () => this.inner.get(path));
  }
  getRange(path: string, start: number, end: number): Promise<Uint8Array> {
    return this.run('GET', path, false, () => this.inner.getRange(path, start, end));
  }
  head(path: string): Promise<ObjectMeta> {
    return this.run('HEAD', path, false, () => this.inner.head(path));
  }
  put(path: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    return this.run('PUT', path, true, () => this.inner.put(path, data, options));
  }
  putStream(path: string, data: AsyncIterable<Uint8Array>, options?: PutOptions): Promise<void> {
    return this.run('PUT', path, true, () => this.inner.putStream(path, data, options));
  }
  putIfAbsent(path: string, data: Uint8Array): Promise<void> {
    return this.run('PUT (if absent)', path, true, () => this.inner.putIfAbsent(path, data));
  }
  async *list(prefix: string, options?: ListOptions): AsyncIterable<ObjectMeta> {
    // A fault on the first page: listings fail as a whole.
    await this.run('LIST', prefix, false, async () => undefined);
    yield* this.inner.list(prefix, options);
  }
  deleteMany(paths: readonly string[]): Promise<void> {
    return this.run('DELETE', paths[0] ?? '', true, () => this.inner.deleteMany(paths));
  }
  removeAbandonedTemporaryFiles(olderThan: number): Promise<string[]> {
    return this.inner.removeAbandonedTemporaryFiles?.(olderThan) ?? Promise.resolve([]);
  }
  close(): Promise<void> {
    return this.inner.close?.() ?? Promise.resolve();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
