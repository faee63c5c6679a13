/**
 * Reading single values out of Arrow data without losing precision: 64-bit integers stay
 * `bigint`, timestamps become `bigint` microseconds whatever their unit, decimals their unscaled
 * `bigint`, dates a day number. `Vector.get` is not used for these because it turns timestamps
 * into milliseconds and decimals into word arrays.
 */
import { type Data, type DataType, type Decimal, type RecordBatch, TimeUnit, Type } from 'apache-arrow';

export type Scalar = number | bigint | string | boolean | Uint8Array | null;

export function isValid(data: Data, i: number): boolean {
  return data.getValid(i);
}

/** Microseconds per unit, for normalizing timestamps. */
function toMicros(v: bigint, unit: TimeUnit): bigint {
  switch (unit) {
    case TimeUnit.SECOND:
      return v * 1_000_000n;
    case TimeUnit.MILLISECOND:
      return v * 1_000n;
    case TimeUnit.MICROSECOND:
      return v;
    default:
      // Floor division so that pre-1970 instants round towards the past like every engine.
      return v >= 0n ? v / 1_000n : -((-v + 999n) / 1_000n);
  }
}

function int64At(values: ArrayLike<unknown>, i: number): bigint {
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) return values[i]!;
  // Older layouts hold 64-bit values as pairs of 32-bit words (little-endian).
  const words = values as unknown as Int32Array;
  return (BigInt(words[2 * i + 1]!) << 32n) | BigInt(words[2 * i]! >>> 0);
}

/** The unscaled value of a 128-bit (or 256-bit) decimal, two's complement little-endian. */
export function decimalUnscaledAt(data: Data<Decimal>, i: number): bigint {
  const words = data.type.bitWidth / 32;
  const values = data.values as Uint32Array;
  let v = 0n;
  for (let w = words - 1; w >= 0; w--) v = (v << 32n) | BigInt(values[i * words + w]! >>> 0);
  const bits = BigInt(data.type.bitWidth);
  if (v >> (bits - 1n)) v -= 1n << bits;
  return v;
}

/** Format an unscaled decimal with exactly `scale` fraction digits. */
export function formatDecimal(unscaled: bigint, scale: number): string {
  const neg = unscaled < 0n;
  let digits = (neg ? -unscaled : unscaled).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    digits = `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  }
  return neg ? `-${digits}` : digits;
}

/**
 * The value of a primitive column at row `i`, or null: integers up to 32 bits and floats as
 * `number`, 64-bit integers as `bigint`, decimals as their unscaled `bigint`, dates as days since
 * the epoch, timestamps as `bigint` microseconds since the epoch, strings, booleans, binary bytes.
 * Nested types are not scalars: use `canonicalAt`.
 */
export function scalarAt(data: Data, i: number): Scalar {
  if (!data.getValid(i)) return null;
  const type = data.type as DataType;
  switch (type.typeId) {
    case Type.Int: {
      const { bitWidth } = type as unknown as { bitWidth: number };
      if (bitWidth === 64) return int64At(data.values as ArrayLike<unknown>, i);
      return Number((data.values as Int32Array)[i]);
    }
    case Type.Float:
      return Number((data.values as Float64Array)[i]);
    case Type.Decimal:
      return decimalUnscaledAt(data as Data<Decimal>, i);
    case Type.Date: {
      const { unit } = type as unknown as { unit: number };
      if (unit === 0) return Number((data.values as Int32Array)[i]); // DAY
      return Number(int64At(data.values as ArrayLike<unknown>, i) / 86_400_000n);
    }
    case Type.Timestamp: {
      const { unit } = type as unknown as { unit: TimeUnit };
      return toMicros(int64At(data.values as ArrayLike<unknown>, i), unit);
    }
    case Type.Bool: {
      const pos = data.offset + i;
      return ((data.values as Uint8Array)[pos >> 3]! & (1 << (pos & 7))) !== 0;
    }
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Binary:
    case Type.LargeBinary: {
      const offsets = data.valueOffsets as ArrayLike<number | bigint>;
      const start = Number(offsets[i]);
      const end = Number(offsets[i + 1]);
      const bytes = (data.values as Uint8Array).subarray(start, end);
      return type.typeId === Type.Utf8 || type.typeId === Type.LargeUtf8 ? decoder.decode(bytes) : bytes;
    }
    case Type.FixedSizeBinary: {
      const { byteWidth } = type as unknown as { byteWidth: number };
      return (data.values as Uint8Array).subarray(i * byteWidth, (i + 1) * byteWidth);
    }
    case Type.Dictionary: {
      const key = Number((data.values as Int32Array)[i]);
      return scalarAt(data.dictionary!.data[0]!, key);
    }
    default: {
      // Views and other rarely seen layouts: fall back to Arrow's own accessor.
      const v = (data as unknown as { type: DataType }).type;
      throw new Error(`arrow: no scalar reader for type ${String(v)}`);
    }
  }
}

const decoder = new TextDecoder();

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** "YYYY-MM-DD" of a day number (proleptic Gregorian, like Spark and delta-rs). */
export function formatDate(days: number): string {
  return isoDate(new Date(days * 86_400_000));
}

function isoDate(d: Date): string {
  const y = d.getUTCFullYear();
  // ISO 8601 expanded years outside 0..9999, as the peers write them.
  const year =
    y < 0
      ? `-${String(-y).padStart(6, '0')}`
      : y > 9999
        ? `+${String(y).padStart(6, '0')}`
        : String(y).padStart(4, '0');
  return `${year}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** "YYYY-MM-DDTHH:MM:SS.ffffff" of microseconds since the epoch (no zone suffix). */
export function formatTimestampMicros(micros: bigint): string {
  let secs = micros / 1_000_000n;
  let frac = micros % 1_000_000n;
  if (frac < 0n) {
    frac += 1_000_000n;
    secs -= 1n;
  }
  const d = new Date(Number(secs) * 1000);
  const time = `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
  return `${isoDate(d)}T${time}.${frac.toString().padStart(6, '0')}`;
}

function canonicalNumber(v: number): JsonValue {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return v;
}

/**
 * The canonical JSON value of row `i` of an Arrow column — the one row format every test compares
 * with delta-rs and Spark: integers as numbers (strings beyond 2^53-1), NaN/±Infinity as strings,
 * decimals as strings with exactly `scale` fraction digits, binary as base64, dates "YYYY-MM-DD",
 * timestamps "YYYY-MM-DDTHH:MM:SS.ffffffZ" (no Z without a time zone), structs as objects in
 * field order, arrays as arrays, maps as arrays of [key, value] pairs in stored order.
 */
export function canonicalAt(data: Data, i: number): JsonValue {
  if (!data.getValid(i)) return null;
  const type = data.type as DataType;
  switch (type.typeId) {
    case Type.Struct: {
      const out: Record<string, JsonValue> = {};
      type.children.forEach((f, c) => {
        out[f.name] = canonicalAt(data.children[c]!, i);
      });
      return out;
    }
    case Type.List:
    case Type.LargeList:
    case Type.Map: {
      const offsets = data.valueOffsets as ArrayLike<number | bigint>;
      const start = Number(offsets[i]);
      const end = Number(offsets[i + 1]);
      const child = data.children[0]!;
      const out: JsonValue[] = [];
      for (let j = start; j < end; j++) {
        if (type.typeId === Type.Map) {
          out.push([canonicalAt(child.children[0]!, j), canonicalAt(child.children[1]!, j)]);
        } else {
          out.push(canonicalAt(child, j));
        }
      }
      return out;
    }
    case Type.FixedSizeList: {
      const { listSize } = type as unknown as { listSize: number };
      const child = data.children[0]!;
      const out: JsonValue[] = [];
      for (let j = i * listSize; j < (i + 1) * listSize; j++) out.push(canonicalAt(child, j));
      return out;
    }
  }
  const v = scalarAt(data, i);
  switch (type.typeId) {
    case Type.Int:
      return typeof v === 'bigint'
        ? v > MAX_SAFE || v < -MAX_SAFE
          ? v.toString()
          : Number(v)
        : (v as number);
    case Type.Float:
      return canonicalNumber(v as number);
    case Type.Decimal:
      return formatDecimal(v as bigint, (type as Decimal).scale);
    case Type.Date:
      return formatDate(v as number);
    case Type.Timestamp: {
      const { timezone } = type as unknown as { timezone: string | null };
      return formatTimestampMicros(v as bigint) + (timezone ? 'Z' : '');
    }
    case Type.Binary:
    case Type.LargeBinary:
    case Type.FixedSizeBinary:
      return Buffer.from(v as Uint8Array).toString('base64');
    case Type.Dictionary:
      return canonicalAt(data.dictionary!.data[0]!, Number((data.values as Int32Array)[i]));
    default:
      return v as JsonValue;
  }
}

/** Canonical JSON text of one row (keys in schema order, no spaces). */
export function canonicalRow(batch: RecordBatch, i: number): string {
  const out: Record<string, JsonValue> = {};
  batch.schema.fields.forEach((f, c) => {
    out[f.name] = canonicalAt(batch.data.children[c]!, i);
  });
  return JSON.stringify(out);
}

/** Canonical JSON text of every row of a batch, in order. */
export function canonicalRows(batch: RecordBatch): string[] {
  const rows: string[] = [];
  for (let i = 0; i < batch.numRows; i++) rows.push(canonicalRow(batch, i));
  return rows;
}
