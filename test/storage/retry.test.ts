import { LakehouseError } from '../../lib/errors.js';
import {
  backoffMs,
  DEFAULT_RETRY_POLICY,
  networkErrorCode,
  optionReader,
  putIfAbsentWithRetries,
  type FailureKind,
} from '../../lib/storage/retry.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const fast = { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 2 };

/** The algorithm alone: `outcomes` scripts what each create attempt answers. */
async function run(outcomes: FailureKind[], stored: string | undefined, ours = 'ours') {
  let attempts = 0;
  let reads = 0;
  const result = await putIfAbsentWithRetries(
    enc(ours),
    {
      create: async () => {
        const outcome = outcomes[attempts++];
        if (outcome !== undefined) throw Object.assign(new Error(outcome), { kind: outcome });
      },
      readBack: async () => {
        reads++;
        return stored === undefined ? undefined : enc(stored);
      },
      classify: (err) => (err as { kind: FailureKind }).kind,
      toError: (err) => new LakehouseError('STORAGE', (err as Error).message),
      describe: 'mem://t/_delta_log/0.json',
    },
    fast,
  ).then(
    () => 'created',
    (err: LakehouseError) => err.code,
  );
  return { result, attempts, reads };
}

describe('putIfAbsentWithRetries', () => {
  test('first attempt refused: FILE_ALREADY_EXISTS without reading the object', async () => {
    expect(await run(['precondition'], 'ours')).toEqual({
      result: 'FILE_ALREADY_EXISTS',
      attempts: 1,
      reads: 0,
    });
  });

  test('unanswered attempt, then refused, and the object holds our bytes: ours landed', async () => {
    expect(await run(['transient', 'precondition'], 'ours')).toEqual({
      result: 'created',
      attempts: 2,
      reads: 1,
    });
  });

  test('unanswered attempt, then refused, and the object holds other bytes: we lost', async () => {
    expect(await run(['transient', 'precondition'], 'theirs')).toMatchObject({
      result: 'FILE_ALREADY_EXISTS',
    });
  });

  test('a prefix of our bytes is not ours', async () => {
    expect(await run(['transient', 'precondition'], 'our')).toMatchObject({ result: 'FILE_ALREADY_EXISTS' });
  });

  test('transient failures are retried up to maxAttempts, then STORAGE_TRANSIENT', async () => {
    expect(await run(['transient', 'transient'], undefined)).toEqual({
      result: 'created',
      attempts: 3,
      reads: 0,
    });
    expect(await run(['transient', 'transient', 'transient', 'transient'], undefined)).toEqual({
      result: 'STORAGE_TRANSIENT',
      attempts: 4,
      reads: 0,
    });
  });

  test('other failures are not retried', async () => {
    expect(await run(['access-denied'], undefined)).toEqual({ result: 'STORAGE', attempts: 1, reads: 0 });
  });
});

describe('retry helpers', () => {
  test('back-off is full jitter under an exponential cap', () => {
    for (let attempt = 1; attempt < 12; attempt++) {
      const d = backoffMs(attempt, DEFAULT_RETRY_POLICY);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(Math.min(5000, 100 * 2 ** (attempt - 1)));
    }
  });

  test('options: case-insensitive aliases, the record before the environment, env only by upper-case names', () => {
    const opt = optionReader(
      { aws_region: 'eu-west-1', empty: '' },
      { AWS_REGION: 'us-east-1', region: 'x' },
    );
    expect(opt('AWS_REGION', 'region')).toBe('eu-west-1');
    expect(optionReader({}, { AWS_REGION: 'us-east-1', region: 'x' })('AWS_REGION', 'region')).toBe(
      'us-east-1',
    );
    expect(optionReader({}, { region: 'x' })('AWS_REGION', 'region')).toBeUndefined();
    expect(opt('empty')).toBeUndefined();
  });

  test('network error codes are found in code, cause chains and wrapped text', () => {
    expect(networkErrorCode({ code: 'ECONNRESET' })).toBe('ECONNRESET');
    expect(networkErrorCode({ message: 'x', cause: { code: 'ETIMEDOUT' } })).toBe('ETIMEDOUT');
    expect(
      networkErrorCode(new Error('AWS SDK error wrapper for Error: connect ECONNREFUSED 127.0.0.1:1')),
    ).toBe('ECONNREFUSED');
    expect(networkErrorCode(new Error('socket hang up'))).toBe('ECONNRESET');
    expect(networkErrorCode(new Error('NoSuchKey'))).toBeUndefined();
  });
});
