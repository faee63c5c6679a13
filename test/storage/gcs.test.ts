import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Storage } from '@google-cloud/storage';
import { isLakehouseError } from '../../lib/errors.js';
import { openStore } from '../../lib/storage/index.js';
import { gcsConfigFromOptions } from '../../lib/storage/gcs.js';
import { startFakeGcs, type FakeGcsServer } from '../harness/fakegcs.js';
import { startFlakyProxy, script } from '../harness/flaky-proxy.js';
import { objectStoreContract } from './contract.js';
import { concurrentCommitsTest } from './concurrent-commits.js';
import { tableLifecycleTest } from './table-lifecycle.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

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
    const err = await store.get('x').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'STORAGE_CONFIG' });
    expect((err as Error).message).toMatch(
      /cannot reach http:\/\/127\.0\.0\.1:1 .*ECONNREFUSED.*STORAGE_EMULATOR_HOST/,
    );
  });
});

describe('GCS put-if-absent retries (through a proxy that loses answers)', () => {
  const isConditionalCreate = (req: { method?: string; url?: string }): boolean =>
    req.method === 'POST' && /[?&]ifGenerationMatch=0\b/.test(req.url ?? '');

  async function storeVia(decide: Parameters<typeof startFlakyProxy>[1]) {
    const proxy = await startFlakyProxy(gcs.endpoint, decide);
    const store = await openStore(gcs.uri(), { STORAGE_EMULATOR_HOST: proxy.endpoint });
    return { proxy, store };
  }

  test('our own create landed but its answer was lost: the retry sees 412, reads our bytes, succeeds', async () => {
    const { proxy, store } = await storeVia(script(isConditionalCreate, 'lose-response'));
    try {
      await store.putIfAbsent('_delta_log/00000000000000000000.json', enc('ours'));
      expect(dec(await store.get('_delta_log/00000000000000000000.json'))).toBe('ours');
      expect(proxy.log.filter((r) => r.method === 'POST').map((r) => r.action)).toEqual([
        'lose-response',
        'forward',
      ]);
    } finally {
      await proxy.stop();
    }
  });

  test('reads, lists and overwrites ride out 503s (throttling) with back-off', async () => {
    const direct = await openStore(gcs.uri(), gcs.storageOptions);
    await direct.put('t.json', enc('v1'));
    for (const method of ['GET', 'POST']) {
      const proxy = await startFlakyProxy(
        gcs.endpoint,
        script((req) => req.method === method && !isConditionalCreate(req), 'unavailable', 'unavailable'),
      );
      const store = await openStore(direct.root, { STORAGE_EMULATOR_HOST: proxy.endpoint });
      try {
        if (method === 'GET') {
          expect(dec(await store.get('t.json'))).toBe('v1');
          const listed = [];
          for await (const m of store.list('')) listed.push(m.path);
          expect(listed).toEqual(['t.json']);
        } else {
          await store.put('t.json', enc('v2'));
          expect(dec(await direct.get('t.json'))).toBe('v2');
        }
        expect(proxy.log.filter((r) => r.action === 'unavailable')).toHaveLength(2);
      } finally {
        await proxy.stop();
      }
    }
  }, 60_000);

  test('someone else won while our attempt went unanswered: FILE_ALREADY_EXISTS', async () => {
    const { proxy, store } = await storeVia(script(isConditionalCreate, 'unavailable'));
    try {
      const direct = await openStore(store.root, gcs.storageOptions);
      await direct.put('_delta_log/00000000000000000001.json', enc('theirs'));
      const err = await store
        .putIfAbsent('_delta_log/00000000000000000001.json', enc('ours'))
        .catch((e: unknown) => e);
      expect(isLakehouseError(err, 'FILE_ALREADY_EXISTS')).toBe(true);
      expect(dec(await direct.get('_delta_log/00000000000000000001.json'))).toBe('theirs');
    } finally {
      await proxy.stop();
    }
  });
});

describe('lakehouse ls on GCS through the CLI', () => {
  test('lists the objects in key order with --storage-option STORAGE_EMULATOR_HOST=...', async () => {
    const uri = gcs.uri();
    const store = await openStore(uri, gcs.storageOptions);
    await store.put('b.parquet', enc('bb'));
    await store.put('_delta_log/00000000000000000000.json', enc('{}'));
    const r = spawnSync(
      process.execPath,
      [
        path.resolve('bin/lakehouse.js'),
        'ls',
        uri,
        '--format',
        'json',
        '--storage-option',
        `STORAGE_EMULATOR_HOST=${gcs.endpoint}`,
      ],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect((JSON.parse(r.stdout) as { path: string }[]).map((m) => m.path)).toEqual([
      '_delta_log/00000000000000000000.json',
      'b.parquet',
    ]);
  });
});

describe('concurrent commits on GCS (fake-gcs-server)', () => {
  concurrentCommitsTest('fake-gcs-server', () => ({ uri: gcs.uri(), options: gcs.storageOptions }));
});

describe('table life cycle on GCS (fake-gcs-server)', () => {
  tableLifecycleTest('fake-gcs-server', () => ({ uri: gcs.uri(), options: gcs.storageOptions }));
});
