import { crc32 } from 'node:zlib';
import { LakehouseError, isLakehouseError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { DeletionVectorDescriptor } from './actions.js';

/**
 * Deletion vectors ("Deletion Vectors" and "Deletion Vector Format" in PROTOCOL.md): descriptors
 * (inline Z85, UUID-relative path, absolute path), the DV file framing (big-endian size, data,
 * CRC-32) and the RoaringBitmapArray format (magic number, then the portable 64-bit Roaring
 * serialization), decoded to the sorted row indexes a reader must skip.
 */

const Z85_CHARS = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const Z85_DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < Z85_CHARS.length; i++) Z85_DECODE[Z85_CHARS.charCodeAt(i)] = i;

/** Decode Z85 (ZeroMQ base85); the input length must be a multiple of 5. */
export function z85Decode(text: string): Uint8Array {
  if (text.length % 5 !== 0) {
    throw new LakehouseError(
      'CORRUPT_LOG',
      `delta: deletion vector: Z85 text length ${text.length} is not a multiple of 5`,
    );
  }
  const out = new Uint8Array((text.length / 5) * 4);
  for (let i = 0, o = 0; i < text.length; i += 5, o += 4) {
    let v = 0;
    for (let j = 0; j < 5; j++) {
      const c = text.charCodeAt(i + j);
      const d = c < 128 ? Z85_DECODE[c] : -1;
      if (d < 0)
        throw new LakehouseError(
          'CORRUPT_LOG',
          `delta: deletion vector: invalid Z85 character "${text[i + j]}"`,
        );
      v = v * 85 + d;
    }
    out[o] = (v >>> 24) & 0xff;
    out[o + 1] = (v >>> 16) & 0xff;
    out[o + 2] = (v >>> 8) & 0xff;
    out[o + 3] = v & 0xff;
  }
  return out;
}

/** Encode bytes as Z85, zero-padding to a multiple of 4 bytes (as Delta does for inline DVs). */
export function z85Encode(bytes: Uint8Array): string {
  const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
  padded.set(bytes);
  let out = '';
  for (let i = 0; i < padded.length; i += 4) {
    let v = ((padded[i] << 24) | (padded[i + 1] << 16) | (padded[i + 2] << 8) | padded[i + 3]) >>> 0;
    const chunk = new Array<string>(5);
    for (let j = 4; j >= 0; j--) {
      chunk[j] = Z85_CHARS[v % 85];
      v = Math.floor(v / 85);
    }
    out += chunk.join('');
  }
  return out;
}

/**
 * The store path of an on-disk DV: for `u`, `<prefix>/deletion_vector_<uuid>.bin` relative to the
 * table root (the last 20 characters are the Z85 UUID, anything before is the prefix); for `p`, the
 * absolute path as given (URI-decoded). Inline DVs have no path.
 */
export function deletionVectorPath(dv: DeletionVectorDescriptor): string {
  if (dv.storageType === 'p') return decodeURIComponent(dv.pathOrInlineDv);
  if (dv.storageType !== 'u') {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `delta: an inline deletion vector (storageType 'i') has no file path`,
    );
  }
  const s = dv.pathOrInlineDv;
  if (s.length < 20)
    throw new LakehouseError('CORRUPT_LOG', `delta: deletion vector id "${s}" is shorter than 20 characters`);
  const prefix = s.slice(0, s.length - 20);
  const hex = Buffer.from(z85Decode(s.slice(-20))).toString('hex');
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  const name = `deletion_vector_${uuid}.bin`;
  return prefix ? `${prefix}/${name}` : name;
}

/** The magic number that starts a RoaringBitmapArray (little endian). */
export const DV_MAGIC = 1681511377;
/** Magic number of the non-portable layout (a count and sized 32-bit bitmaps). */
export const DV_MAGIC_NATIVE = 1681511376;

/** The row indexes a deletion vector removes, sorted ascending. */
export class DeletedRows {
  /** Sorted, distinct row indexes. */
  readonly rows: Float64Array;

  constructor(rows: Float64Array) {
    this.rows = rows;
  }

  get size(): number {
    return this.rows.length;
  }

  has(row: number): boolean {
    let lo = 0;
    let hi = this.rows.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.rows[mid];
      if (v === row) return true;
      if (v < row) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /** A mask for rows [offset, offset + length): 1 = keep, 0 = deleted. */
  keepMask(offset: number, length: number): Uint8Array {
    const mask = new Uint8Array(length).fill(1);
    let lo = 0;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.rows[mid] < offset) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.rows.length && this.rows[i] < offset + length; i++)
      mask[this.rows[i] - offset] = 0;
    return mask;
  }
}

/** Parse a RoaringBitmapArray (magic number + portable 64-bit Roaring). */
export function parseRoaringBitmapArray(bytes: Uint8Array, where = 'deletion vector'): DeletedRows {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (what: string): never => {
    throw new LakehouseError('CORRUPT_LOG', `delta: ${where}: ${what}`);
  };
  if (bytes.length < 12) fail(`${bytes.length} bytes is too short for a RoaringBitmapArray`);
  const magic = view.getUint32(0, true);
  const out: number[] = [];
  if (magic === DV_MAGIC) {
    const numBuckets = Number(view.getBigUint64(4, true));
    let pos = 12;
    for (let b = 0; b < numBuckets; b++) {
      if (pos + 4 > bytes.length) fail(`truncated at bucket ${b}`);
      const high = view.getUint32(pos, true);
      pos += 4;
      pos = parseRoaring32(view, pos, high * 2 ** 32, out, fail);
    }
  } else if (magic === DV_MAGIC_NATIVE) {
    // The older "native" layout Delta's RoaringBitmapArray also reads: a count, then per bitmap its size.
    const numBitmaps = view.getInt32(4, true);
    let pos = 8;
    for (let b = 0; b < numBitmaps; b++) {
      if (pos + 4 > bytes.length) fail(`truncated at bitmap ${b}`);
      const size = view.getInt32(pos, true);
      pos += 4;
      parseRoaring32(view, pos, b * 2 ** 32, out, fail);
      pos += size;
    }
  } else {
    fail(`magic number ${magic} is not ${DV_MAGIC}`);
  }
  return new DeletedRows(Float64Array.from(out));
}

const SERIAL_COOKIE_NO_RUN = 12346;
const SERIAL_COOKIE = 12347;
const NO_OFFSET_THRESHOLD = 4;

/** Parse one standard 32-bit Roaring bitmap at `pos`; appends `base + value`; returns the end position. */
function parseRoaring32(
  view: DataView,
  start: number,
  base: number,
  out: number[],
  fail: (w: string) => never,
): number {
  let pos = start;
  const need = (n: number) => {
    if (pos + n > view.byteLength) fail('truncated Roaring bitmap');
  };
  need(4);
  const cookie = view.getUint32(pos, true);
  pos += 4;
  let size: number;
  let runBitmap: Uint8Array | null = null;
  if ((cookie & 0xffff) === SERIAL_COOKIE) {
    size = (cookie >>> 16) + 1;
    const len = (size + 7) >>> 3;
    need(len);
    runBitmap = new Uint8Array(view.buffer, view.byteOffset + pos, len);
    pos += len;
  } else if (cookie === SERIAL_COOKIE_NO_RUN) {
    need(4);
    size = view.getUint32(pos, true);
    pos += 4;
  } else {
    return fail(`unknown Roaring cookie ${cookie}`);
  }
  need(size * 4);
  const keys = new Uint16Array(size);
  const cards = new Uint32Array(size);
  for (let i = 0; i < size; i++) {
    keys[i] = view.getUint16(pos, true);
    cards[i] = view.getUint16(pos + 2, true) + 1;
    pos += 4;
  }
  if (!runBitmap || size >= NO_OFFSET_THRESHOLD) pos += size * 4; // offsets: containers follow in order anyway
  for (let i = 0; i < size; i++) {
    const hi = base + keys[i] * 65536;
    const isRun = runBitmap !== null && (runBitmap[i >>> 3] & (1 << (i & 7))) !== 0;
    if (isRun) {
      need(2);
      const runs = view.getUint16(pos, true);
      pos += 2;
      need(runs * 4);
      for (let r = 0; r < runs; r++) {
        const s = view.getUint16(pos, true);
        const len = view.getUint16(pos + 2, true);
        pos += 4;
        for (let v = s; v <= s + len; v++) out.push(hi + v);
      }
    } else if (cards[i] <= 4096) {
      need(cards[i] * 2);
      for (let k = 0; k < cards[i]; k++) out.push(hi + view.getUint16(pos + 2 * k, true));
      pos += cards[i] * 2;
    } else {
      need(8192);
      for (let w = 0; w < 2048; w++) {
        let word = view.getUint32(pos + 4 * w, true);
        while (word !== 0) {
          const bit = 31 - Math.clz32(word & -word);
          out.push(hi + w * 32 + bit);
          word &= word - 1;
        }
      }
      pos += 8192;
    }
  }
  return pos;
}

/** Serialize sorted, distinct row indexes as a RoaringBitmapArray (array and bitmap containers, no runs). */
export function serializeRoaringBitmapArray(rows: Iterable<number>): Uint8Array {
  const sorted = [...new Set(rows)].sort((a, b) => a - b);
  const buckets = new Map<number, Map<number, number[]>>();
  for (const r of sorted) {
    const high = Math.floor(r / 2 ** 32);
    const low = r - high * 2 ** 32;
    let b = buckets.get(high);
    if (!b) buckets.set(high, (b = new Map()));
    const key = low >>> 16;
    let c = b.get(key);
    if (!c) b.set(key, (c = []));
    c.push(low & 0xffff);
  }
  const chunks: Uint8Array[] = [];
  const head = new DataView(new ArrayBuffer(12));
  head.setUint32(0, DV_MAGIC, true);
  head.setBigUint64(4, BigInt(buckets.size), true);
  chunks.push(new Uint8Array(head.buffer));
  for (const [high, containers] of buckets) {
    const keys = [...containers.keys()];
    const bodies = keys.map((k) => {
      const vals = containers.get(k)!;
      if (vals.length <= 4096) {
        const a = new DataView(new ArrayBuffer(vals.length * 2));
        vals.forEach((v, i) => a.setUint16(i * 2, v, true));
        return new Uint8Array(a.buffer);
      }
      const bm = new Uint32Array(2048);
      for (const v of vals) bm[v >>> 5] |= 1 << (v & 31);
      const d = new DataView(new ArrayBuffer(8192));
      bm.forEach((w, i) => d.setUint32(i * 4, w, true));
      return new Uint8Array(d.buffer);
    });
    const header = new DataView(new ArrayBuffer(4 + 4 + 8 + keys.length * 8));
    header.setUint32(0, high, true);
    header.setUint32(4, SERIAL_COOKIE_NO_RUN, true);
    header.setUint32(8, keys.length, true);
    let p = 12;
    keys.forEach((k) => {
      header.setUint16(p, k, true);
      header.setUint16(p + 2, containers.get(k)!.length - 1, true);
      p += 4;
    });
    let offset = 4 + 4 + keys.length * 8; // relative to the start of this 32-bit bitmap
    for (const body of bodies) {
      header.setUint32(p, offset, true);
      p += 4;
      offset += body.length;
    }
    chunks.push(new Uint8Array(header.buffer, 0, p));
    chunks.push(...bodies);
  }
  return Buffer.concat(chunks);
}

/**
 * Load the rows a deletion vector removes: inline DVs are decoded from the descriptor, on-disk
 * ones are read with one ranged GET, their size and CRC-32 checked. Errors name the DV file.
 */
export async function readDeletionVector(
  store: ObjectStore,
  dv: DeletionVectorDescriptor,
): Promise<DeletedRows> {
  if (dv.storageType === 'i') {
    const bytes = z85Decode(dv.pathOrInlineDv).subarray(0, dv.sizeInBytes);
    return check(parseRoaringBitmapArray(bytes, 'inline deletion vector'), dv, 'inline deletion vector');
  }
  const path = deletionVectorPath(dv);
  const offset = dv.offset ?? 0;
  let bytes: Uint8Array;
  try {
    bytes = await store.getRange(path, offset, offset + 4 + dv.sizeInBytes + 4);
  } catch (err) {
    if (isLakehouseError(err, 'NOT_FOUND')) {
      throw new LakehouseError('CORRUPT_LOG', `delta: deletion vector file ${path} is missing`, {
        cause: err,
      });
    }
    throw err;
  }
  const where = `deletion vector ${path} at offset ${offset}`;
  if (bytes.length < dv.sizeInBytes + 8) {
    throw new LakehouseError(
      'CORRUPT_LOG',
      `delta: ${where}: file ends after ${bytes.length} of ${dv.sizeInBytes + 8} bytes`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = view.getInt32(0, false);
  if (size !== dv.sizeInBytes) {
    throw new LakehouseError(
      'CORRUPT_LOG',
      `delta: ${where}: stored size ${size} differs from the descriptor's ${dv.sizeInBytes}`,
    );
  }
  const data = bytes.subarray(4, 4 + size);
  const expected = view.getUint32(4 + size, false);
  const actual = crc32(data) >>> 0;
  if (expected !== actual) {
    throw new LakehouseError(
      'CORRUPT_LOG',
      `delta: ${where}: CRC-32 ${actual} does not match the stored ${expected}`,
    );
  }
  return check(parseRoaringBitmapArray(data, where), dv, where);
}

function check(rows: DeletedRows, dv: DeletionVectorDescriptor, where: string): DeletedRows {
  if (rows.size !== dv.cardinality) {
    throw new LakehouseError(
      'CORRUPT_LOG',
      `delta: ${where}: holds ${rows.size} rows but the descriptor says ${dv.cardinality}`,
    );
  }
  return rows;
}

/** The bytes of a DV file holding one deletion vector: version 1, size, data, CRC-32 (big endian). */
export function encodeDeletionVectorFile(bitmap: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + 4 + bitmap.length + 4);
  const view = new DataView(out.buffer);
  out[0] = 1;
  view.setInt32(1, bitmap.length, false);
  out.set(bitmap, 5);
  view.setUint32(5 + bitmap.length, crc32(bitmap) >>> 0, false);
  return out;
}
