import { LakehouseError } from '../errors.js';

/**
 * Retries for the cloud backends, and the one rule that keeps concurrent commits correct on them:
 * a put-if-absent is never retried blindly. If an attempt failed in a way that leaves its outcome
 * unknown (timeout, reset, 5xx, a 409 "conditional request in progress") and a later attempt is
 * refused because the object exists, the object may be our own earlier attempt that landed. Only
 * its content can tell: equal bytes mean we won, anything else means we lost the race.
 */

/** How a backend sorts a failure of one request. */
export type FailureKind =
  /** The object exists (put-if-absent refused): HTTP 412, or 409 BlobAlreadyExists on Azure. */
  | 'precondition'
  | 'not-found'
  | 'access-denied'
  /** Wrong endpoint, region, missing credentials: the user must change a setting. */
  | 'config'
  /** Throttling, 5xx, connection reset or timeout: worth another try. */
  | 'transient'
  | 'other';

export interface RetryPolicy {
  /** Attempts in all, first included. Default 5. */
  maxAttempts: number;
  /** First back-off; doubles each time, with full jitter. Default 100 ms. */
  baseDelayMs: number;
  /** Longest single back-off. Default 5 s. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 5,
  baseDelayMs: 100,
  maxDelayMs: 5000,
});

/** Full-jitter exponential back-off before attempt `attempt + 1` (attempt counts from 1). */
export function backoffMs(attempt: number, policy: RetryPolicy): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.random() * cap;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Run an idempotent request, retrying transient failures with back-off. Resolves with the first
 * success; rejects with the last error once the attempts are spent or on a non-transient failure.
 * Errors are passed through unchanged: the caller maps them.
 */
export async function withRetries<T>(
  request: () => Promise<T>,
  classify: (err: unknown) => FailureKind,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (err) {
      if (attempt >= policy.maxAttempts || classify(err) !== 'transient') throw err;
      await sleep(backoffMs(attempt, policy));
    }
  }
}

/** `get`, but undefined when the object does not exist: the read-back of a put-if-absent. */
export function readIfExists(get: () => Promise<Uint8Array>): () => Promise<Uint8Array | undefined> {
  return async () => {
    try {
      return await get();
    } catch (err) {
      if (err instanceof LakehouseError && err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
  };
}

export interface PutIfAbsentSteps {
  /** One conditional create, with the SDK's own retries turned off. */
  create: () => Promise<void>;
  /** The current content of the object, or undefined when it does not exist (any retries inside). */
  readBack: () => Promise<Uint8Array | undefined>;
  classify: (err: unknown) => FailureKind;
  /** Turns any other failure into a LakehouseError for the user. */
  toError: (err: unknown) => LakehouseError;
  /** For messages, e.g. `s3://bucket/t/_delta_log/00000000000000000003.json`. */
  describe: string;
  /** One line about a failure, for messages; default `describeError`. */
  explain?: (err: unknown) => string;
}

/**
 * Atomic create with safe retries. Resolves when the object now holds `data` because of one of
 * our attempts; rejects with FILE_ALREADY_EXISTS when someone else's object is there; rejects with
 * STORAGE_TRANSIENT when every attempt failed without an answer (the object may or may not exist).
 *
 * An object with exactly our bytes found after an unanswered attempt counts as ours: a writer
 * that produced identical bytes for the same path would have committed the same thing.
 */
export async function putIfAbsentWithRetries(
  data: Uint8Array,
  steps: PutIfAbsentSteps,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): Promise<void> {
  let outcomeUnknown = false; // an earlier attempt may have landed
  for (let attempt = 1; ; attempt++) {
    try {
      await steps.create();
      return;
    } catch (err) {
      const kind = steps.classify(err);
      if (kind === 'precondition') {
        if (outcomeUnknown) {
          const existing = await steps.readBack().catch((readErr: unknown) => {
            throw steps.toError(readErr);
          });
          if (existing !== undefined && bytesEqual(existing, data)) return;
        }
        throw new LakehouseError('FILE_ALREADY_EXISTS', `storage: ${steps.describe} already exists`, {
          cause: err,
        });
      }
      if (kind !== 'transient') throw steps.toError(err);
      outcomeUnknown = true;
      if (attempt >= policy.maxAttempts) {
        throw new LakehouseError(
          'STORAGE_TRANSIENT',
          `storage: creating ${steps.describe} failed ${attempt} times (${(steps.explain ?? describeError)(err)}); ` +
            'it may or may not exist now; retry the operation later',
          { cause: err },
        );
      }
      await sleep(backoffMs(attempt, policy));
    }
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

/** Node's network error codes that say the request may not have reached or left the server. */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ECONNABORTED',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/**
 * The Node network error code behind a failure: from `code` along the `cause` chain, else from
 * the text (some SDK wrappers keep only `String(err)`, e.g. AWS's "error wrapper for ...").
 */
export function networkErrorCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === 'string' && /^(E[A-Z_]+|UND_ERR_[A-Z_]+|ERR_STREAM_PREMATURE_CLOSE)$/.test(e.code))
      return e.code;
    e = e.cause as typeof e;
  }
  const text = errorText(err);
  const m = /\b(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|ETIMEDOUT|EPIPE|EAI_AGAIN)\b/.exec(text);
  if (m) return m[1];
  if (/socket hang up/i.test(text)) return 'ECONNRESET';
  return undefined;
}

/** Network failures: transient ones retry; "nobody there" ones are a wrong endpoint. */
export function classifyNetworkError(err: unknown): FailureKind | undefined {
  const code = networkErrorCode(err);
  if (code === undefined) return undefined;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH') return 'config';
  if (TRANSIENT_NETWORK_CODES.has(code)) return 'transient';
  return undefined;
}

/** HTTP statuses worth another try. */
export function isTransientStatus(status: number | undefined): boolean {
  return status === 408 || status === 429 || (status !== undefined && status >= 500 && status !== 501);
}

/**
 * An error's message. Duck-typed, not `instanceof Error`: errors made in another realm (Node's
 * internals seen from a jest VM context, for one) are Errors all the same.
 */
function errorText(err: unknown): string {
  if (typeof err === 'string') return err;
  const e = err as { message?: unknown; name?: unknown } | null | undefined;
  if (typeof e?.message === 'string' && e.message !== '') return e.message;
  return typeof e?.name === 'string' ? e.name : String(err);
}

/** The first line of an SDK error's message, with its network error code if it lacks one. */
export function describeError(err: unknown): string {
  const code = networkErrorCode(err);
  const msg = errorText(err).split('\n')[0]!;
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
}

/**
 * Read a storage option the way delta-rs users write it: keys are case-insensitive and may
 * have aliases (`AWS_REGION`, `aws_region`, `region`); the first alias found in the record wins,
 * then the environment variable of the same (upper-case) names.
 */
export function optionReader(
  options: Record<string, string>,
  env: NodeJS.ProcessEnv = process.env,
): (...names: string[]) => string | undefined {
  const lower = new Map(Object.entries(options).map(([k, v]) => [k.toLowerCase(), v]));
  return (...names) => {
    for (const n of names) {
      const v = lower.get(n.toLowerCase());
      if (v !== undefined && v !== '') return v;
    }
    for (const n of names) {
      if (n !== n.toUpperCase()) continue; // only upper-case names are environment variables
      const v = env[n];
      if (v !== undefined && v !== '') return v;
    }
    return undefined;
  };
}

/** delta-rs truthy strings. */
export function isTrue(value: string | undefined): boolean {
  return value !== undefined && ['true', '1', 'yes', 'on'].includes(value.trim().toLowerCase());
}

/** Run `fn` over `items` with at most `limit` in flight. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Collect an async byte stream (a Node Readable is one) into one array. */
export async function readAll(stream: AsyncIterable<Uint8Array | string>): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : Buffer.from(c));
  const buf = Buffer.concat(chunks);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
