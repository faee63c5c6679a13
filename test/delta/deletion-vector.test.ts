import { LocalObjectStore } from '../../lib/storage/local.js';
import {
  deletionVectorPath,
  encodeDeletionVectorFile,
  parseRoaringBitmapArray,
  readDeletionVector,
  serializeRoaringBitmapArray,
  z85Decode,
  z85Encode,
} from '../../lib/delta/index.js';
import { tempStore } from './helpers.js';

describe('deletion vectors', () => {
  test('inline DVs: Z85 of the RoaringBitmapArray, padded to 4 bytes', async () => {
    const store = new LocalObjectStore('/nonexistent');
    const bitmap = serializeRoaringBitmapArray([3, 4, 7, 11, 18, 29]);
    const rows = await readDeletionVector(store, {
      storageType: 'i',
      pathOrInlineDv: z85Encode(bitmap),
      sizeInBytes: bitmap.length,
      cardinality: 6,
    });
    expect([...rows.rows]).toEqual([3, 4, 7, 11, 18, 29]);
    expect(rows.has(7)).toBe(true);
    expect(rows.has(8)).toBe(false);
    expect([...rows.keepMask(2, 4)]).toEqual([1, 0, 0, 1]);
    await expect(
      readDeletionVector(store, {
        storageType: 'i',
        pathOrInlineDv: z85Encode(bitmap),
        sizeInBytes: bitmap.length,
        cardinality: 5,
      }),
    ).rejects.toThrow('delta: inline deletion vector: holds 6 rows but the descriptor says 5');
  });

  test('UUID-relative paths are derived as the protocol example shows', () => {
    expect(
      deletionVectorPath({
        storageType: 'u',
        pathOrInlineDv: 'ab^-aqEH.-t@S}K{vb[*k^',
        offset: 4,
        sizeInBytes: 40,
        cardinality: 6,
      }),
    ).toBe('ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin');
  });

  test('Z85 round trip', () => {
    const bytes = new Uint8Array([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
    expect(z85Encode(bytes)).toBe('HelloWorld');
    expect([...z85Decode('HelloWorld')]).toEqual([...bytes]);
    expect(() => z85Decode('abc')).toThrow(/multiple of 5/);
  });

  test('RoaringBitmapArray round trip: array and bitmap containers, rows past 2^32', () => {
    const rows = [0, 1, 65535, 65536, 2 ** 32 + 5, ...Array.from({ length: 5000 }, (_, i) => 200000 + i * 3)];
    const parsed = parseRoaringBitmapArray(serializeRoaringBitmapArray(rows));
    expect([...parsed.rows]).toEqual([...rows].sort((a, b) => a - b));
  });

  test('corrupt DVs name what is wrong', () => {
    expect(() => parseRoaringBitmapArray(new Uint8Array(16))).toThrow(/magic number 0 is not 1681511377/);
  });

  test('on-disk DVs are read by range, size and CRC checked', async () => {
    const { store } = await tempStore();
    const bitmap = serializeRoaringBitmapArray([2, 9]);
    const file = encodeDeletionVectorFile(bitmap);
    await store.put('deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin', file);
    const dv = {
      storageType: 'u' as const,
      pathOrInlineDv: '^-aqEH.-t@S}K{vb[*k^',
      offset: 1,
      sizeInBytes: bitmap.length,
      cardinality: 2,
    };
    expect([...(await readDeletionVector(store, dv)).rows]).toEqual([2, 9]);
    file[file.length - 1] ^= 0xff;
    await store.put('deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin', file);
    await expect(readDeletionVector(store, dv)).rejects.toThrow(
      /deletion vector deletion_vector_d2c639aa.*CRC-32/,
    );
    await expect(
      readDeletionVector(store, { ...dv, pathOrInlineDv: 'xx^-aqEH.-t@S}K{vb[*k^' }),
    ).rejects.toThrow(
      'delta: deletion vector file xx/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin is missing',
    );
  });
});
