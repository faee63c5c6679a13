import { randomUUID } from 'node:crypto';
import { Storage } from '@google-cloud/storage';
import { openStore } from '../../lib/storage/index.js';
import { gcsConfigFromOptions } from '../../lib/storage/gcs.js';
import { startFakeGcs, type FakeGcsServer } from '../harness/fakegcs.js';
import { objectStoreContract } from './contract.js';
import { concurrentCommitsTest } from './concurrent-commits.js';
import { tableLifecycleTest } from './table-lifecycle.js';
import { lossyNetworkSuite } from './lossy-network.js';
import { cliListTest } from './cli-ls.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

let gcs: FakeGcsServer;
beforeAll(async () => {
  gcs = await startFakeGcs();
});
afterAll(async () => {
  await gcs?.stop();
});

objectStoreContract('GCS (fake-gcs-server)', () => openStore(gcs.uri(), gcs.storageOptions));

describe('fake-gcs-server: put-if-absent smoke test (ifGenerationMatch=0) on every upload path', () => {
  const uploadUrl = (query: string): string =>
    `${gcs.endpoint}/upload/storage/v1/b/${gcs.bucket}/o?ifGenerationMatch=0&${query}`;
  const content = async (name: string): Promise<string> =>
    (
      await fetch(`${gcs.endpoint}/storage/v1/b/${gcs.bucket}/o/${encodeURIComponent(name)}?alt=media`)
    ).text();

  const simple = (name: string, body: string) =>
    fetch(uploadUrl(`uploadType=media&name=${encodeURIComponent(name)}`), { method: 'POST', body });

  const multipart = (name: string, body: string) => {
    const boundary = `b${randomUUID()}`;
    const payload =
      `--${boundary}\r\ncontent-type: application/json\r\n\r\n${JSON.stringify({ name })}\r\n` +
      `--${boundary}\r\ncontent-type: text/plain\r\n\r\n${body}\r\n--${boundary}--\r\n`;
    return fetch(uploadUrl('uploadType=multipart'), {
      method: 'POST',
      headers: { 'content-type': `multipart/related; boundary=${boundary}` },
      body: payload,
    });
  };

  /** Resumable: the precondition may be checked when the session starts or when it completes. */
  const resumable = async (name: string, body: string): Promise<Response> => {
    const start = await fetch(uploadUrl('uploadType=resumable'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
    if (!start.ok) return start;
    return fetch(start.headers.get('location')!, { method: 'PUT', body });
  };

  test.each([
    ['simple (uploadType=media)', simple],
    ['multipart (uploadType=multipart)', multipart],
    ['resumable (uploadType=resumable)', resumable],
  ])('%s: a second create of the same object fails with 412', async (_path, upload) => {
    const name = `smoke/${randomUUID()}.json`;
    const first = await upload(name, 'first');
    expect(first.status).toBe(200);
    const second = await upload(name, 'second');
    expect(second.status).toBe(412);
    expect(await content(name)).toBe('first');
  });

  test.each([
    ['single request (what putIfAbsent uses)', false],
    ['resumable', true],
  ])(
    'the client library, %s: the second save with ifGenerationMatch=0 is refused with 412',
    async (_p, resumable) => {
      const file = new Storage({ apiEndpoint: gcs.endpoint, projectId: 'emulator' })
        .bucket(gcs.bucket)
        .file(`smoke/${randomUUID()}.json`);
      await file.save('first', { resumable, preconditionOpts: { ifGenerationMatch: 0 } });
      const err = await file.save('second', { resumable, preconditionOpts: { ifGenerationMatch: 0 } }).then(
        () => undefined,
        (e: { code?: number }) => e,
      );
      expect(err).toMatchObject({ code: 412 });
      expect((await file.download())[0].toString()).toBe('first');
    },
  );
});

describe('GCS options', () => {
  test('delta-rs option names, with STORAGE_EMULATOR_HOST from the record or the environment', () => {
    expect(gcsConfigFromOptions('gs://b/t', { google_service_account: '/k.json' }, {})).toMatchObject({
      bucket: 'b',
      prefix: 't',
      keyFilename: '/k.json',
      emulatorHost: undefined,
    });
    expect(gcsConfigFromOptions('gs://b', {}, { STORAGE_EMULATOR_HOST: '127.0.0.1:4443' }).emulatorHost).toBe(
      'http://127.0.0.1:4443',
    );
  });

  test('a service-account key that is not JSON says so', async () => {
    await expect(openStore('gs://b/t', { GOOGLE_SERVICE_ACCOUNT_KEY: '{nope' })).rejects.toThrow(
      /GOOGLE_SERVICE_ACCOUNT_KEY is not JSON/,
    );
  });
});

describe('GCS errors say what to do (against fake-gcs-server)', () => {
  test('missing bucket', async () => {
    const store = await openStore('gs://no-such-bucket/t', gcs.storageOptions);
    const err = await store.put('x', enc('x')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NOT_FOUND' });
    expect((err as Error).message).toMatch(/bucket "no-such-bucket" does not exist .*create it/);
    const listed = (async () => {
      for await (const _ of store.list('')) void _;
    })();
    await expect(listed).rejects.toThrow(/bucket "no-such-bucket" does not exist/);
  });

  test('missing object', async () => {
    const store = await openStore(gcs.uri(), gcs.storageOptions);
    const err = await store.get('nope.json').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NOT_FOUND' });
    expect((err as Error).message).toMatch(/nope\.json does not exist$/);
  });

  test('wrong endpoint', async () => {
    const store = await openStore(gcs.uri(), { STORAGE_EMULATOR_HOST: 'http://127.0.0.1:1' });
    const started = Date.now();
    const err = await store.get('x').catch((e: unknown) => e);
    // At once, not after the client's retries of a request that got no answer (15 s before).
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err).toMatchObject({ code: 'STORAGE_CONFIG' });
    expect((err as Error).message).toMatch(
      /cannot reach http:\/\/127\.0\.0\.1:1 .*ECONNREFUSED.*STORAGE_EMULATOR_HOST/,
    );
  });
});

lossyNetworkSuite('GCS', { writeMethod: 'POST', preconditionStatus: 412 }, () => ({
  upstream: () => gcs.endpoint,
  direct: (root) => openStore(root ?? gcs.uri(), gcs.storageOptions),
  via: (endpoint, root) => openStore(root, { STORAGE_EMULATOR_HOST: endpoint }),
  isConditionalCreate: (req) => req.method === 'POST' && /[?&]ifGenerationMatch=0\b/.test(req.url ?? ''),
}));

describe('lakehouse ls on GCS through the CLI', () => {
  cliListTest('GCS (STORAGE_EMULATOR_HOST)', () => ({
    uri: (prefix) => gcs.uri(prefix),
    storeUri: (prefix) => gcs.uri(prefix),
    storeOptions: gcs.storageOptions,
    cliOptions: { STORAGE_EMULATOR_HOST: gcs.endpoint },
  }));
});

describe('concurrent commits on GCS (fake-gcs-server)', () => {
  concurrentCommitsTest('fake-gcs-server', () => ({ uri: gcs.uri(), options: gcs.storageOptions }));
});

describe('table life cycle on GCS (fake-gcs-server)', () => {
  tableLifecycleTest('fake-gcs-server', () => ({ uri: gcs.uri(), options: gcs.storageOptions }));
});
