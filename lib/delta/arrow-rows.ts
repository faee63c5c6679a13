import { type Data, makeVector, Type, type Vector } from 'apache-arrow';

/**
 * Arrow columns to the plain values commit JSON would hold, a column at a time (no per-row
 * dispatch on types, no Arrow row proxies): strings, numbers (64-bit integers as numbers),
 * booleans, structs as objects WITHOUT their null fields, maps as objects that KEEP null values
 * (a null partition value is data), lists as arrays. Returns one value per row of `data`,
 * `null` where the row is null. Used for checkpoint rows, which are read by the thousand.
 */
/**
 * A row accessor over a column of a table (all its chunks): `get(i)` is row i as `columnValues`
 * converts it. The whole column is converted once, up front.
 */
export function converter(vector: Vector): (i: number) => unknown {
  const values: unknown[] = [];
  for (const data of vector.data) {
    const chunk = columnValues(data);
    for (let i = 0; i < chunk.length; i++) values.push(chunk[i]);
  }
  return (i) => values[i] ?? null;
}

export function columnValues(data: Data): unknown[] {
  const n = data.length;
  const out = new Array<unknown>(n);
  const valid = validity(data);
  switch (data.typeId) {
    case Type.Utf8:
    case Type.LargeUtf8: {
      const offsets = data.valueOffsets as Int32Array | BigInt64Array;
      const bytes = data.values as Uint8Array;
      const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const big = typeof offsets[0] === 'bigint';
      for (let i = 0; i < n; i++) {
        if (!valid(i)) {
          out[i] = null;
          continue;
        }
        const j = data.offset + i;
        const a = big ? Number(offsets[j]) : (offsets[j] as number);
        const b = big ? Number(offsets[j + 1]) : (offsets[j + 1] as number);
        out[i] = buf.toString('utf8', a, b);
      }
      return out;
    }
    case Type.Int: {
      const values = data.values as ArrayLike<number | bigint>;
      for (let i = 0; i < n; i++) {
        const v = values[data.offset + i]!;
        out[i] = valid(i) ? (typeof v === 'bigint' ? Number(v) : v) : null;
      }
      return out;
    }
    case Type.Bool: {
      const bits = data.values as Uint8Array;
      for (let i = 0; i < n; i++) {
        const j = data.offset + i;
        out[i] = valid(i) ? ((bits[j >> 3]! >> (j & 7)) & 1) === 1 : null;
      }
      return out;
    }
    case Type.Struct: {
      const fields = (data.type as { children: { name: string }[] }).children;
      const columns = data.children.map((c) => columnValues(c));
      for (let i = 0; i < n; i++) {
        if (!valid(i)) {
          out[i] = null;
          continue;
        }
        const o: Record<string, unknown> = {};
        for (let f = 0; f < fields.length; f++) {
          const v = columns[f]![i];
          if (v !== null && v !== undefined) o[fields[f]!.name] = v;
        }
        out[i] = o;
      }
      return out;
    }
    case Type.Map: {
      const offsets = data.valueOffsets as Int32Array;
      const entries = data.children[0]!;
      const keys = columnValues(entries.children[0]!);
      const values = columnValues(entries.children[1]!);
      for (let i = 0; i < n; i++) {
        if (!valid(i)) {
          out[i] = null;
          continue;
        }
        const o: Record<string, unknown> = {};
        const end = offsets[data.offset + i + 1]!;
        for (let k = offsets[data.offset + i]!; k < end; k++) o[keys[k] as string] = values[k] ?? null;
        out[i] = o;
      }
      return out;
    }
    case Type.List: {
      const offsets = data.valueOffsets as Int32Array;
      const items = columnValues(data.children[0]!);
      for (let i = 0; i < n; i++)
        out[i] = valid(i) ? items.slice(offsets[data.offset + i]!, offsets[data.offset + i + 1]!) : null;
      return out;
    }
    default: {
      // Types checkpoints do not use: go through Arrow's own accessors.
      const vector = makeVector(data);
      for (let i = 0; i < n; i++) out[i] = plain(vector.get(i));
      return out;
    }
  }
}

function validity(data: Data): (i: number) => boolean {
  const bitmap = data.nullBitmap;
  if (!bitmap || bitmap.length === 0 || data.nullCount === 0) return () => true;
  const offset = data.offset;
  return (i) => ((bitmap[(offset + i) >> 3]! >> ((offset + i) & 7)) & 1) === 1;
}

function plain(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.getTime();
  if (typeof v !== 'object') return v;
  const json = (v as { toJSON?: () => unknown }).toJSON?.() ?? v;
  if (Array.isArray(json)) return json.map(plain);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(json as Record<string, unknown>)) if (x !== null) out[k] = plain(x);
  return out;
}
