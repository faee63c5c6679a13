/**
 * Building Arrow data from JavaScript values, and taking rows out of Arrow data.
 *
 * `buildData` accepts the canonical JSON forms (see `arrow-values.ts`) plus the natural
 * JavaScript ones (bigint, Date, Uint8Array, Map), so JSON Lines and CSV input, partition values
 * and test fixtures all go through one converter. A value that does not fit its column fails with
 * `SCHEMA_MISMATCH` naming the column, the row and the reason.
 */
import {
  type Data,
  type DataType,
  type Decimal,
  type Field,
  makeData,
  RecordBatch,
  type Schema,
  Struct,
  TimeUnit,
  Type,
} from 'apache-arrow';
import { LakehouseError } from '../errors.js';

const encoder = new TextEncoder();

function fail(column: string, row: number, value: unknown, why: string): never {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  throw new LakehouseError('SCHEMA_MISMATCH', `column ${column}, row ${row + 1}: ${shown} ${why}`);
}

/** Parse a decimal literal to its unscaled value at `scale`; undefined when it needs rounding. */
export function parseDecimalText(text: string, scale: number): bigint | undefined {
  const m = /^\s*([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  let digits = (m[2] ?? '') + (m[3] ?? '');
  let exp = -(m[3] ?? '').length + Number(m[4] ?? 0);
  // value = digits * 10^exp; we want digits * 10^(exp + scale)
  let shift = exp + scale;
  if (shift < 0) {
    const dropped = digits.slice(digits.length + shift);
    if (/[1-9]/.test(dropped)) return undefined;
    digits = digits.slice(0, digits.length + shift);
    shift = 0;
  }
  exp = shift;
  const v = BigInt((digits || '0') + '0'.repeat(exp));
  return m[1] === '-' ? -v : v;
}

/** Parse a date "YYYY-MM-DD" (or a Date) to days since the epoch. */
export function parseDateText(text: string): number | undefined {
  const m = /^\s*([+-]?\d{4,6})-(\d{1,2})-(\d{1,2})\s*$/.exec(text);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const d = new Date(ms);
  if (d.getUTCMonth() !== Number(m[2]) - 1 || d.getUTCDate() !== Number(m[3])) return undefined;
  // Date.UTC maps years 0..99 to 1900..1999; fix that up.
  const fixed = new Date(0);
  fixed.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Math.floor(fixed.getTime() / 86_400_000);
}

/**
 * Parse a timestamp text to microseconds since the epoch. Accepts `YYYY-MM-DD`,
 * `YYYY-MM-DD[T ]HH:MM[:SS[.fraction]]` and an optional `Z` or `±HH:MM` offset. A text without a
 * zone is read as UTC (for `timestamp`) or as wall-clock time (for `timestamp_ntz`), which is the
 * same arithmetic.
 */
export function parseTimestampText(text: string): bigint | undefined {
  const m =
    /^\s*([+-]?\d{4,6}-\d{1,2}-\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|UTC|[+-]\d{2}:?\d{2})?\s*$/i.exec(
      text,
    );
  if (!m) return undefined;
  const days = parseDateText(m[1]!);
  if (days === undefined) return undefined;
  const h = Number(m[2] ?? 0);
  const min = Number(m[3] ?? 0);
  const s = Number(m[4] ?? 0);
  if (h > 23 || min > 59 || s > 59) return undefined;
  const frac = BigInt((m[5] ?? '').padEnd(6, '0').slice(0, 6) || '0');
  let micros = BigInt(days) * 86_400_000_000n + BigInt(h * 3600 + min * 60 + s) * 1_000_000n + frac;
  const zone = m[6];
  if (zone && !/^(Z|UTC)$/i.test(zone)) {
    const z = /([+-])(\d{2}):?(\d{2})/.exec(zone)!;
    const offset = BigInt(Number(z[2]) * 3600 + Number(z[3]) * 60) * 1_000_000n;
    micros = z[1] === '+' ? micros - offset : micros + offset;
  }
  return micros;
}

function validity(
  values: readonly unknown[],
  nullable: boolean,
  column: string,
): [Uint8Array | undefined, number] {
  let nulls = 0;
  const bitmap = new Uint8Array((values.length + 7) >> 3);
  values.forEach((v, i) => {
    if (v === null || v === undefined) {
      if (!nullable) fail(column, i, v, 'is null, but the column is not nullable');
      nulls++;
    } else {
      bitmap[i >> 3]! |= 1 << (i & 7);
    }
  });
  return [nulls ? bitmap : undefined, nulls];
}

function toBigInt(v: unknown, column: string, row: number): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) return BigInt(v.trim());
  return fail(column, row, v, 'is not an integer');
}

const INT_RANGE: Record<number, [bigint, bigint]> = {
  8: [-128n, 127n],
  16: [-32768n, 32767n],
  32: [-2147483648n, 2147483647n],
  64: [-(2n ** 63n), 2n ** 63n - 1n],
};

/**
 * Arrow data of `type` holding `values` (null/undefined are nulls). `column` names the column in
 * errors; `nullable: false` rejects nulls.
 */
export function buildData(
  type: DataType,
  values: readonly unknown[],
  column = '<column>',
  nullable = true,
): Data {
  const length = values.length;
  const [nullBitmap, nullCount] = validity(values, nullable, column);
  switch (type.typeId) {
    case Type.Int: {
      const { bitWidth } = type as unknown as { bitWidth: number };
      const [lo, hi] = INT_RANGE[bitWidth]!;
      const arr =
        bitWidth === 64
          ? new BigInt64Array(length)
          : new ({ 8: Int8Array, 16: Int16Array, 32: Int32Array } as const)[bitWidth as 8 | 16 | 32](length);
      values.forEach((v, i) => {
        if (v === null || v === undefined) return;
        const b = toBigInt(v, column, i);
        if (b < lo || b > hi) fail(column, i, v, `does not fit in a ${bitWidth}-bit integer`);
        (arr as unknown as (number | bigint)[])[i] = bitWidth === 64 ? b : Number(b);
      });
      return makeData({ type, length, nullCount, nullBitmap, data: arr } as never);
    }
    case Type.Float: {
      const { precision } = type as unknown as { precision: number };
      const arr = precision === 2 ? new Float64Array(length) : new Float32Array(length);
      values.forEach((v, i) => {
        if (v === null || v === undefined) return;
        let n: number;
        if (typeof v === 'number') n = v;
        else if (typeof v === 'bigint') n = Number(v);
        else if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v.trim())))
          n = Number(v.trim());
        else if (v === 'NaN') n = NaN;
        else if (v === 'Infinity' || v === '-Infinity') n = Number(v);
        else return fail(column, i, v, 'is not a number');
        arr[i] = n;
      });
      return makeData({ type, length, nullCount, nullBitmap, data: arr } as never);
    }
    case Type.Decimal: {
      const dec = type as Decimal;
      const words = dec.bitWidth / 32;
      const arr = new Uint32Array(length * words);
      const limit = 10n ** BigInt(dec.precision);
      values.forEach((v, i) => {
        if (v === null || v === undefined) return;
        const text = typeof v === 'bigint' ? v.toString() : typeof v === 'number' ? String(v) : v;
        if (typeof text !== 'string') return fail(column, i, v, 'is not a decimal number');
        const unscaled = parseDecimalText(text, dec.scale);
        if (unscaled === undefined)
          return fail(column, i, v, `is not a decimal with at most ${dec.scale} fraction digits`);
        if (unscaled >= limit || unscaled <= -limit) {
          return fail(column, i, v, `does not fit in decimal(${dec.precision},${dec.scale})`);
        }
        let u = BigInt.asUintN(dec.bitWidth, unscaled);
        for (let w = 0; w < words; w++) {
          arr[i * words + w] = Number(u & 0xffffffffn);
          u >>= 32n;
        }
      });
      return makeData({ type, length, nullCount, nullBitmap, data: arr } as never);
    }
    case Type.Date: {
      const arr = new Int32Array(length);
      values.forEach((v, i) => {
        if (v === null || v === undefined) return;
        let days: number | undefined;
        if (v instanceof Date) days = Math.floor(v.getTime() / 86_400_000);
        else if (typeof v === 'number' && Number.isInteger(v)) days = v;
        else if (typeof v === 'string') {
          days = parseDateText(v);
          if (days === undefined) {
            const ts = parseTimestampText(v);
            if (ts !== undefined) days = Number(ts / 86_400_000_000n);
          }
        }
        if (days === undefined) return fail(column, i, v, 'is not a date (YYYY-MM-DD)');
        arr[i] = days;
      });
      return makeData({ type, length, nullCount, nullBitmap, data: arr } as never);
    }
    case Type.Timestamp: {
      const { unit } = type as unknown as { unit: TimeUnit };
      const arr = new BigInt64Array(length);
      const perMicro: Record<number, [bigint, bigint]> = {
        [TimeUnit.SECOND]: [1n, 1_000_000n],
        [TimeUnit.MILLISECOND]: [1n, 1_000n],
        [TimeUnit.MICROSECOND]: [1n, 1n],
        [TimeUnit.NANOSECOND]: [1_000n, 1n],
      };
      const [mul, div] = perMicro[unit]!;
      values.forEach((v, i) => {
        if (v === null || v === undefined) return;
        let micros: bigint | undefined;
        if (v instanceof Date) micros = BigInt(v.getTime()) * 1000n;
        else if (typeof v === 'bigint') micros = v;
        else if (typeof v === 'string') micros = parseTimestampText(v);
        if (micros === undefined)
          return fail(column, i, v, 'is not a timestamp (ISO-8601, e.g. 2026-01-01T12:00:00Z)');
        arr[i] = (micros * mul) / div;
      });
      return makeData({ type, length, nullCount, nullBitmap, data: arr } as never);
    }
    case Type.Bool: {
      const arr = new Uint8Array((length + 7) >> 3);
      values.forEach((v, i) => {
        if (v === null || v === undefined) return;
        let b: boolean;
        if (typeof v === 'boolean') b = v;
        else if (v === 'true' || v === 'false') b = v === 'true';
        else return fail(column, i, v, 'is not a boolean');
        if (b) arr[i >> 3]! |= 1 << (i & 7);
      });
      return makeData({ type, length, nullCount, nullBitmap, data: arr } as never);
    }
    case Type.Utf8:
    case Type.Binary: {
      const isString = type.typeId === Type.Utf8;
      const chunks: Uint8Array[] = [];
      const offsets = new Int32Array(length + 1);
      let total = 0;
      values.forEach((v, i) => {
        let bytes: Uint8Array = new Uint8Array(0);
        if (v !== null && v !== undefined) {
          if (isString) {
            if (typeof v !== 'string') {
              if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean')
                bytes = encoder.encode(String(v));
              else fail(column, i, v, 'is not a string');
            } else bytes = encoder.encode(v);
          } else if (v instanceof Uint8Array) bytes = v;
          else if (typeof v === 'string') bytes = Buffer.from(v, 'base64');
          else fail(column, i, v, 'is not binary (base64 text or bytes)');
        }
        chunks.push(bytes);
        total += bytes.length;
        offsets[i + 1] = total;
      });
      const data = new Uint8Array(total);
      let pos = 0;
      for (const c of chunks) {
        data.set(c, pos);
        pos += c.length;
      }
      return makeData({ type, length, nullCount, nullBitmap, valueOffsets: offsets, data } as never);
    }
    case Type.Struct: {
      const children = type.children.map((f: Field) =>
        buildData(
          f.type,
          values.map((v, i) => {
            if (v === null || v === undefined) return null;
            if (typeof v !== 'object' || Array.isArray(v)) fail(column, i, v, 'is not an object');
            return (v as Record<string, unknown>)[f.name] ?? null;
          }),
          `${column}.${f.name}`,
          // A field of a null struct is null whatever its nullability.
          f.nullable || nullCount > 0,
        ),
      );
      return makeData({ type, length, nullCount, nullBitmap, children } as never);
    }
    case Type.List: {
      const el = type.children[0]!;
      const offsets = new Int32Array(length + 1);
      const flat: unknown[] = [];
      values.forEach((v, i) => {
        if (v !== null && v !== undefined) {
          if (!Array.isArray(v)) fail(column, i, v, 'is not an array');
          flat.push(...(v as unknown[]));
        }
        offsets[i + 1] = flat.length;
      });
      const child = buildData(el.type, flat, `${column}.element`, el.nullable);
      return makeData({ type, length, nullCount, nullBitmap, valueOffsets: offsets, child } as never);
    }
    case Type.Map: {
      const entriesField = type.children[0]!;
      const [keyField, valueField] = entriesField.type.children as Field[];
      const offsets = new Int32Array(length + 1);
      const keys: unknown[] = [];
      const vals: unknown[] = [];
      values.forEach((v, i) => {
        if (v !== null && v !== undefined) {
          let pairs: [unknown, unknown][];
          if (v instanceof Map) pairs = [...v.entries()];
          else if (Array.isArray(v)) pairs = v as [unknown, unknown][];
          else if (typeof v === 'object') pairs = Object.entries(v);
          else return fail(column, i, v, 'is not a map (an object or an array of [key, value] pairs)');
          for (const p of pairs) {
            if (!Array.isArray(p) || p.length !== 2)
              fail(column, i, v, 'is not a map (an array of [key, value] pairs)');
            keys.push(p[0]);
            vals.push(p[1]);
          }
        }
        offsets[i + 1] = keys.length;
      });
      const entries = makeData({
        type: entriesField.type as Struct,
        length: keys.length,
        nullCount: 0,
        children: [
          buildData(keyField!.type, keys, `${column}.key`, false),
          buildData(valueField!.type, vals, `${column}.value`, valueField!.nullable),
        ],
      } as never);
      return makeData({
        type,
        length,
        nullCount,
        nullBitmap,
        valueOffsets: offsets,
        child: entries,
      } as never);
    }
  }
  throw new LakehouseError(
    'SCHEMA_MISMATCH',
    `column ${column}: cannot build Arrow data of type ${String(type)}`,
  );
}

/**
 * A column of `length` copies of one value (a partition column): built once, then its buffers
 * repeated, instead of converting the value `length` times. Same result as
 * `buildData(type, new Array(length).fill(value), column)`.
 */
export function constantData(type: DataType, value: unknown, length: number, column = '<column>'): Data {
  if (value === null || value === undefined || length === 0)
    return buildData(type, new Array(length).fill(value ?? null), column);
  const one = buildData(type, [value], column);
  switch (type.typeId) {
    case Type.Int:
    case Type.Float:
    case Type.Date:
    case Type.Timestamp:
    case Type.Decimal: {
      const src = one.values as unknown as { length: number; constructor: new (n: number) => unknown };
      const width = src.length; // elements per value (decimals span several words)
      const Ctor = src.constructor as new (n: number) => {
        set(a: ArrayLike<unknown>, o: number): void;
        fill?: unknown;
      };
      const out = new Ctor(width * length) as unknown as {
        [i: number]: unknown;
        copyWithin(t: number, s: number, e: number): void;
      };
      for (let k = 0; k < width; k++) out[k] = (src as unknown as Record<number, unknown>)[k];
      // Double the filled prefix until the array is full.
      for (let filled = width; filled < width * length; filled *= 2)
        out.copyWithin(filled, 0, Math.min(filled, width * length - filled));
      return makeData({ type, length, nullCount: 0, data: out } as never);
    }
    case Type.Utf8:
    case Type.Binary: {
      const bytes = (one.values as Uint8Array).subarray(0, (one.valueOffsets as Int32Array)[1]!);
      const w = bytes.length;
      const data = new Uint8Array(w * length);
      if (w > 0) {
        data.set(bytes, 0);
        for (let filled = w; filled < data.length; filled *= 2)
          data.copyWithin(filled, 0, Math.min(filled, data.length - filled));
      }
      const offsets = new Int32Array(length + 1);
      for (let i = 1; i <= length; i++) offsets[i] = i * w;
      return makeData({ type, length, nullCount: 0, valueOffsets: offsets, data } as never);
    }
    default:
      return buildData(type, new Array(length).fill(value), column);
  }
}

/** A column of `length` nulls (nested children are built too, so writers accept it). */
export function nullData(type: DataType, length: number): Data {
  return buildData(type, new Array<null>(length).fill(null));
}

/** A record batch of `schema` from rows given as objects keyed by field name. */
export function batchFromRows(schema: Schema, rows: readonly Record<string, unknown>[]): RecordBatch {
  const children = schema.fields.map((f) =>
    buildData(
      f.type,
      rows.map((r) => r[f.name] ?? null),
      f.name,
      f.nullable,
    ),
  );
  const struct = makeData({
    type: new Struct(schema.fields),
    length: rows.length,
    nullCount: 0,
    children,
  } as never) as unknown as Data<Struct>;
  return new RecordBatch(schema, struct);
}

function getBit(bits: Uint8Array, pos: number): boolean {
  return (bits[pos >> 3]! & (1 << (pos & 7))) !== 0;
}

/** The rows `indices` (in that order) of `data`, as new compact data. */
export function takeData(data: Data, indices: ArrayLike<number>): Data {
  const type = data.type as DataType;
  const n = indices.length;
  let nullCount = 0;
  let nullBitmap: Uint8Array | undefined;
  if (data.nullCount > 0) {
    nullBitmap = new Uint8Array((n + 7) >> 3);
    for (let k = 0; k < n; k++) {
      if (data.getValid(indices[k]!)) nullBitmap[k >> 3]! |= 1 << (k & 7);
      else nullCount++;
    }
    if (nullCount === 0) nullBitmap = undefined;
  }
  const base = { type, length: n, nullCount, nullBitmap };
  switch (type.typeId) {
    case Type.Null:
      return makeData({ type, length: n, nullCount: n } as never);
    case Type.Bool: {
      const out = new Uint8Array((n + 7) >> 3);
      const bits = data.values as Uint8Array;
      for (let k = 0; k < n; k++) if (getBit(bits, data.offset + indices[k]!)) out[k >> 3]! |= 1 << (k & 7);
      return makeData({ ...base, data: out } as never);
    }
    case Type.Int:
    case Type.Float:
    case Type.Date:
    case Type.Timestamp:
    case Type.Decimal:
    case Type.Time:
    case Type.Duration:
    case Type.FixedSizeBinary:
    case Type.Interval: {
      const values = data.values as unknown as {
        length: number;
        constructor: new (n: number) => ArrayLike<unknown>;
      };
      const stride = data.stride;
      const out = new values.constructor(n * stride) as unknown as unknown[];
      const src = values as unknown as unknown[];
      for (let k = 0; k < n; k++) {
        const from = indices[k]! * stride;
        for (let s = 0; s < stride; s++) out[k * stride + s] = src[from + s];
      }
      return makeData({ ...base, data: out } as never);
    }
    case Type.Utf8:
    case Type.Binary:
    case Type.LargeUtf8:
    case Type.LargeBinary: {
      const offsets = data.valueOffsets as unknown as ArrayLike<number | bigint>;
      const large = type.typeId === Type.LargeUtf8 || type.typeId === Type.LargeBinary;
      const outOffsets = large ? new BigInt64Array(n + 1) : new Int32Array(n + 1);
      let total = 0;
      for (let k = 0; k < n; k++) {
        const i = indices[k]!;
        total += Number(offsets[i + 1]) - Number(offsets[i]);
        (outOffsets as unknown as (number | bigint)[])[k + 1] = large ? BigInt(total) : total;
      }
      const out = new Uint8Array(total);
      const src = data.values as Uint8Array;
      let pos = 0;
      for (let k = 0; k < n; k++) {
        const i = indices[k]!;
        const s = Number(offsets[i]);
        const e = Number(offsets[i + 1]);
        out.set(src.subarray(s, e), pos);
        pos += e - s;
      }
      return makeData({ ...base, valueOffsets: outOffsets, data: out } as never);
    }
    case Type.Struct: {
      const children = data.children.map((c) => takeData(c, indices));
      return makeData({ ...base, children } as never);
    }
    case Type.List:
    case Type.Map:
    case Type.LargeList: {
      const offsets = data.valueOffsets as unknown as ArrayLike<number | bigint>;
      const outOffsets = new Int32Array(n + 1);
      const childIdx: number[] = [];
      for (let k = 0; k < n; k++) {
        const i = indices[k]!;
        for (let j = Number(offsets[i]); j < Number(offsets[i + 1]); j++) childIdx.push(j);
        outOffsets[k + 1] = childIdx.length;
      }
      const child = takeData(data.children[0]!, childIdx);
      if (type.typeId === Type.LargeList) {
        return makeData({ ...base, valueOffsets: BigInt64Array.from(outOffsets, BigInt), child } as never);
      }
      return makeData({ ...base, valueOffsets: outOffsets, child } as never);
    }
    case Type.FixedSizeList: {
      const { listSize } = type as unknown as { listSize: number };
      const childIdx: number[] = [];
      for (let k = 0; k < n; k++)
        for (let s = 0; s < listSize; s++) childIdx.push(indices[k]! * listSize + s);
      return makeData({ ...base, child: takeData(data.children[0]!, childIdx) } as never);
    }
    case Type.Dictionary: {
      const keys = data.values as unknown as { constructor: new (n: number) => number[] } & ArrayLike<number>;
      const out = new keys.constructor(n);
      for (let k = 0; k < n; k++) out[k] = keys[indices[k]!]!;
      return makeData({ ...base, data: out, dictionary: data.dictionary } as never);
    }
  }
  throw new Error(`arrow: takeData does not support ${String(type)}`);
}

/** The rows `indices` of a batch. */
export function takeBatch(batch: RecordBatch, indices: ArrayLike<number>): RecordBatch {
  const children = batch.data.children.map((c) => takeData(c, indices));
  const struct = makeData({
    type: new Struct(batch.schema.fields),
    length: indices.length,
    nullCount: 0,
    children,
  } as never) as unknown as Data<Struct>;
  return new RecordBatch(batch.schema, struct);
}
