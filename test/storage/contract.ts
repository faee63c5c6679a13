import { randomUUID } from 'node:crypto';
import { isLakehouseError } from '../../lib/errors.js';
import type { ObjectStore } from '../../lib/storage/object-store.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

async function collect(it: AsyncIterable<{ path: string }>): Promise<string[]> {
  const out: string[] = [];
  for await (const m of it) out.push(m.path);
  return out;
}

/**
 * The object-store contract (see lib/storage/object-store.ts), run unchanged against every
 * backend. `open` returns a store rooted at a fresh, empty location.
 */
export function objectStoreContract(name: string, open: () => Promise<ObjectStore>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close?.();
    });

    test('put then get returns the bytes; head reports size', async () => {
      await store.put('a/b.txt', enc('hello'));
      expect(dec(await store.get('a/b.txt'))).toBe('hello');
      const meta = await store.head('a/b.txt');
      expect(meta.size).toBe(5);
      expect(meta.path).toBe('a/b.txt');
      expect(meta.lastModified).toBeGreaterThan(Date.now() - 3600_000);
    });

    test('get and head of a missing object fail with NOT_FOUND', async () => {
      await expect(store.get('missing.json')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(store.head('missing.json')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    test('put overwrites', async () => {
      await store.put('x', enc('one'));
      await store.put('x', enc('two'));
      expect(dec(await store.get('x'))).toBe('two');
    });

    test('getRange returns [start, end) and clamps end', async () => {
      await store.put('r.bin', enc('0123456789'));
      expect(dec(await store.getRange('r.bin', 2, 5))).toBe('234');
      expect(dec(await store.getRange('r.bin', 7, 100))).toBe('789');
    });

    test('putIfAbsent creates once and then fails with FILE_ALREADY_EXISTS, keeping the first content', async () => {
      await store.putIfAbsent('_delta_log/00000000000000000000.json', enc('first'));
      const second = store.putIfAbsent('_delta_log/00000000000000000000.json', enc('second'));
      await expect(second).rejects.toMatchObject({ code: 'FILE_ALREADY_EXISTS' });
      expect(dec(await store.get('_delta_log/00000000000000000000.json'))).toBe('first');
    });

    test('concurrent putIfAbsent: exactly one winner, content complete', async () => {
      const body = (i: number): Uint8Array => enc(`writer-${i}-`.repeat(2000));
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => store.putIfAbsent('race.json', body(i))),
      );
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(winners).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(isLakehouseError(r.reason, 'FILE_ALREADY_EXISTS')).toBe(true);
      }
      expect(dec(await store.get('race.json'))).toBe(dec(body(winners[0]!)));
    });

    test('list is lexicographic by full path, prefix-filtered, with startAfter', async () => {
      const paths = [
        'a-b/1',
        'a/2',
        'a/1',
        'a.txt',
        'b',
        '_delta_log/00000000000000000001.json',
        '_delta_log/00000000000000000000.json',
        'day=2026-01-01/part-0.parquet',
      ];
      for (const p of paths) await store.put(p, enc(p));
      expect(await collect(store.list(''))).toEqual([...paths].sort());
      expect(await collect(store.list('_delta_log/'))).toEqual([
        '_delta_log/00000000000000000000.json',
        '_delta_log/00000000000000000001.json',
      ]);
      expect(await collect(store.list('a'))).toEqual(['a-b/1', 'a.txt', 'a/1', 'a/2']);
      expect(await collect(store.list('a/', { startAfter: 'a/1' }))).toEqual(['a/2']);
      expect(
        await collect(store.list('_delta_log/', { startAfter: '_delta_log/00000000000000000000.json' })),
      ).toEqual(['_delta_log/00000000000000000001.json']);
      expect(await collect(store.list('', { startAfter: 'a.txt' }))).toEqual([
        'a/1',
        'a/2',
        'b',
        'day=2026-01-01/part-0.parquet',
      ]);
      expect(await collect(store.list('nothing-here/'))).toEqual([]);
    });

    test('list streams many objects in order', async () => {
      const n = 1100; // more than one page on S3-style stores (1000)
      const names = Array.from({ length: n }, (_, i) => `many/${String(i).padStart(5, '0')}`);
      for (let i = 0; i < n; i += 100)
        await Promise.all(names.slice(i, i + 100).map((p) => store.put(p, enc('x'))));
      expect(await collect(store.list('many/'))).toEqual(names);
    });

    test('deleteMany removes objects and ignores missing ones', async () => {
      await store.put('d/1', enc('1'));
      await store.put('d/2', enc('2'));
      await store.deleteMany(['d/1', 'd/2', 'd/never-existed']);
      expect(await collect(store.list('d/'))).toEqual([]);
      await store.deleteMany([]);
    });

    test('putStream uploads a multi-chunk body', async () => {
      const chunk = new Uint8Array(1024 * 1024).fill(7);
      async function* body(): AsyncIterable<Uint8Array> {
        for (let i = 0; i < 6; i++) yield chunk;
      }
      await store.putStream('big/file.parquet', body());
      expect((await store.head('big/file.parquet')).size).toBe(6 * 1024 * 1024);
      const tail = await store.getRange('big/file.parquet', 6 * 1024 * 1024 - 3, 6 * 1024 * 1024);
      expect(Array.from(tail)).toEqual([7, 7, 7]);
    });

    test('paths with spaces, = and unicode round-trip', async () => {
      const p = `part=a b/é=${randomUUID()}.parquet`;
      await store.put(p, enc('v'));
      expect(dec(await store.get(p))).toBe('v');
      expect(await collect(store.list('part=a b/'))).toEqual([p]);
    });
  });
}
