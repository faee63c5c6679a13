import type { IncomingMessage } from 'node:http';
import { isLakehouseError } from '../../lib/errors.js';
import type { ObjectStore } from '../../lib/storage/object-store.js';
import { startFlakyProxy, script, type FlakyProxy } from '../harness/flaky-proxy.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** How one cloud backend is reached through the flaky proxy. */
export interface LossyNetworkTarget {
  /** The real test server's endpoint the proxy forwards to. */
  upstream(): string;
  /** A store on the test server, reached directly (no proxy). */
  direct(root?: string): Promise<ObjectStore>;
  /** The same store (`root`), reached through the proxy at `proxyEndpoint`. */
  via(proxyEndpoint: string, root: string): Promise<ObjectStore>;
  /** The backend's conditional create (put-if-absent) request. */
  isConditionalCreate(req: IncomingMessage): boolean;
}

/** What the backend's uploads look like on the wire. */
export interface UploadShape {
  /** The HTTP method of an upload, conditional or not (PUT on S3 and Azure, POST on GCS). */
  writeMethod: string;
  /** What the backend answers the retry of a conditional create that had landed (412, 409). */
  preconditionStatus: number;
}

/**
 * What a client does when a request's outcome is unknown, against the real test server: answers
 * lost after the server acted, 503s (throttling). Shared by every cloud backend so they are held
 * to the same rules.
 */
export function lossyNetworkSuite(name: string, shape: UploadShape, target: () => LossyNetworkTarget): void {
  describe(`${name} put-if-absent retries (through a proxy that loses answers)`, () => {
    async function through(decide: (req: IncomingMessage) => 'forward' | 'lose-response' | 'unavailable') {
      const t = target();
      const direct = await t.direct();
      const proxy = await startFlakyProxy(t.upstream(), decide);
      const store = await t.via(proxy.endpoint, direct.root);
      return { t, direct, proxy, store };
    }
    async function close(...items: (ObjectStore | FlakyProxy)[]): Promise<void> {
      for (const item of items) {
        if ('stop' in item) await item.stop();
        else await item.close?.();
      }
    }

    test(`our own create landed but its answer was lost: the retry sees ${shape.preconditionStatus}, reads our bytes, succeeds`, async () => {
      const t0 = target();
      const { direct, proxy, store } = await through(
        script((r) => t0.isConditionalCreate(r), 'lose-response'),
      );
      try {
        await store.putIfAbsent('_delta_log/00000000000000000000.json', enc('ours'));
        expect(dec(await direct.get('_delta_log/00000000000000000000.json'))).toBe('ours');
        expect(proxy.log.filter((r) => r.method === shape.writeMethod).map((r) => r.action)).toEqual([
          'lose-response',
          'forward',
        ]);
      } finally {
        await close(store, direct, proxy);
      }
    });

    test('someone else won while our attempt went unanswered: FILE_ALREADY_EXISTS', async () => {
      const t0 = target();
      const { direct, proxy, store } = await through(script((r) => t0.isConditionalCreate(r), 'unavailable'));
      try {
        await direct.put('_delta_log/00000000000000000001.json', enc('theirs'));
        const err = await store
          .putIfAbsent('_delta_log/00000000000000000001.json', enc('ours'))
          .catch((e: unknown) => e);
        expect(isLakehouseError(err, 'FILE_ALREADY_EXISTS')).toBe(true);
        expect(dec(await direct.get('_delta_log/00000000000000000001.json'))).toBe('theirs');
      } finally {
        await close(store, direct, proxy);
      }
    });

    test('transient 503s on the conditional create are retried with back-off', async () => {
      const t0 = target();
      const { direct, proxy, store } = await through(
        script((r) => t0.isConditionalCreate(r), 'unavailable', 'unavailable'),
      );
      try {
        await store.putIfAbsent('c.json', enc('after two 503s'));
        expect(dec(await direct.get('c.json'))).toBe('after two 503s');
        expect(proxy.log.filter((r) => r.action === 'unavailable')).toHaveLength(2);
      } finally {
        await close(store, direct, proxy);
      }
    });

    test('a store that never answers: STORAGE_TRANSIENT saying the outcome is unknown', async () => {
      const { direct, proxy, store } = await through(() => 'unavailable');
      try {
        const err = await store.putIfAbsent('never.json', enc('x')).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'STORAGE_TRANSIENT' });
        expect((err as Error).message).toMatch(
          /failed 5 times .*may or may not exist now; retry the operation later/,
        );
      } finally {
        await close(store, direct, proxy);
      }
    }, 60_000);

    test('reads, lists and overwrites ride out 503s (throttling) with back-off', async () => {
      const t = target();
      const direct = await t.direct();
      await direct.put('t.json', enc('v1'));
      try {
        for (const method of ['GET', shape.writeMethod]) {
          const proxy = await startFlakyProxy(
            t.upstream(),
            script(
              (req) => req.method === method && !t.isConditionalCreate(req),
              'unavailable',
              'unavailable',
            ),
          );
          const store = await t.via(proxy.endpoint, direct.root);
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
            await close(store, proxy);
          }
        }
      } finally {
        await close(direct);
      }
    }, 60_000);
  });
}
