/**
 * Making Arrow data fit a target Arrow type: the one place where the data layer casts.
 *
 * Used in both directions:
 * - reading: a data file's columns (any Parquet writer's choices: INT96 or nanosecond timestamps,
 *   large strings, dictionaries, narrower integers of a widened column, missing columns of an
 *   evolved schema) become exactly the table's Arrow types;
 * - writing: a caller's batch (columns in any order, timestamps in any unit, narrower integers)
 *   becomes the table's Arrow schema before anything is written.
 *
 * Contract: only lossless conversions happen (integer and float widening, timestamp unit changes
 * to microseconds, date units, string/binary layouts, decimal scale-up); anything else fails with
 * `SCHEMA_MISMATCH` naming the column and both types. Struct fields are matched by Parquet field id
 * when both sides carry one (`PARQUET:field_id`), else by name (exact, then case-insensitive).
 * Target fields missing from the source become nulls when nullable; when not nullable the column
 * is an error.
 */
import {
  type Data,
  type DataType,
  type Decimal,
  type Field,
  makeData,
  makeVector,
  RecordBatch,
  Schema,
  Struct,
  TimeUnit,
  Type,
} from 'apache-arrow';
import { LakehouseError } from '../errors.js';
import { buildData, nullData, takeData } from './arrow-build.js';
import { formatDecimal, isValid, scalarAt } from './arrow-values.js';

export const FIELD_ID_KEY = 'PARQUET:field_id';

function mismatch(column: string, from: DataType, to: DataType, why = ''): never {
  throw new LakehouseError(
    'SCHEMA_MISMATCH',
    `column ${column}: cannot convert ${String(from)} to ${String(to)}${why ? ` (${why})` : ''}`,
  );
}

function compactValidity(data: Data): [Uint8Array | undefined, number] {
  if (data.nullCount === 0) return [undefined, 0];
  const n = data.length;
  const bitmap = new Uint8Array((n + 7) >> 3);
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    if (data.getValid(i)) bitmap[i >> 3]! |= 1 << (i & 7);
    else nulls++;
  }
  return [bitmap, nulls];
}

/** Re-label data with an equivalent type (same layout: names, metadata, nullability may differ). */
export function retypeData(data: Data, type: DataType): Data {
  const children = data.children.map((c, i) => retypeData(c, type.children[i]!.type));
  return data.clone(
    type as never,
    data.offset,
    data.length,
    (data as unknown as { _nullCount: number })._nullCount,
    data.buffers as never,
    children as never,
  );
}

function findSourceField(fields: readonly Field[], target: Field): number {
  const id = target.metadata.get(FIELD_ID_KEY);
  if (id !== undefined) {
    const byId = fields.findIndex((f) => f.metadata.get(FIELD_ID_KEY) === id);
    if (byId >= 0) return byId;
    if (fields.some((f) => f.metadata.has(FIELD_ID_KEY))) return -1;
  }
  const exact = fields.findIndex((f) => f.name === target.name);
  if (exact >= 0) return exact;
  return fields.findIndex((f) => f.name.toLowerCase() === target.name.toLowerCase());
}

function intInfo(t: DataType): { bits: number; signed: boolean } {
  const x = t as unknown as { bitWidth: number; isSigned: boolean };
  return { bits: x.bitWidth, signed: x.isSigned };
}

/** Convert `data` (of `from` = data.type) to `to`, losslessly. */
export function conformData(data: Data, to: DataType, column: string): Data {
  const from = data.type as DataType;
  if (from.typeId === Type.Dictionary) {
    const dict = (data as unknown as { dictionary: { data: Data[] } }).dictionary;
    const values =
      dict.data.length === 1 ? dict.data[0]! : mismatch(column, from, to, 'multi-chunk dictionary');
    const keys: number[] = [];
    for (let i = 0; i < data.length; i++)
      keys.push(isValid(data, i) ? Number((data.values as Int32Array)[i]) : 0);
    let decoded = takeData(values, keys);
    if (data.nullCount > 0) {
      const [bitmap, nulls] = compactValidity(data);
      decoded = decoded.clone(decoded.type, 0, decoded.length, nulls, [
        decoded.valueOffsets,
        decoded.values,
        bitmap,
      ] as never);
    }
    return conformData(decoded, to, column);
  }
  if (from.typeId === Type.Null) return nullData(to, data.length);
  const [nullBitmap, nullCount] = compactValidity(data);
  const length = data.length;
  const rebuild = (values: unknown[]): Data => buildData(to, values, column);

  switch (to.typeId) {
    case Type.Int: {
      const t = intInfo(to);
      if (from.typeId === Type.Int) {
        const f = intInfo(from);
        if (f.bits === t.bits && f.signed === t.signed) return retypeData(data, to);
        const widening = t.signed && (f.signed ? f.bits <= t.bits : f.bits < t.bits);
        if (!widening) return mismatch(column, from, to, 'narrowing integer conversion');
        const values: unknown[] = [];
        for (let i = 0; i < length; i++) values.push(scalarAt(data, i));
        return rebuild(values);
      }
      return mismatch(column, from, to);
    }
    case Type.Float: {
      if (from.typeId === Type.Float || from.typeId === Type.Int) {
        const fp = (from as unknown as { precision: number }).precision;
        const tp = (to as unknown as { precision: number }).precision;
        if (from.typeId === Type.Float && fp === tp) return retypeData(data, to);
        if (from.typeId === Type.Float && fp > tp)
          return mismatch(column, from, to, 'narrowing float conversion');
        const values: unknown[] = [];
        for (let i = 0; i < length; i++) {
          const v = scalarAt(data, i);
          values.push(v === null ? null : Number(v));
        }
        return rebuild(values);
      }
      return mismatch(column, from, to);
    }
    case Type.Decimal: {
      const t = to as Decimal;
      if (from.typeId === Type.Decimal) {
        const f = from as Decimal;
        if (f.scale === t.scale && f.precision <= t.precision && f.bitWidth === t.bitWidth)
          return retypeData(data, to);
        if (t.scale < f.scale || t.precision - t.scale < f.precision - f.scale) {
          return mismatch(column, from, to, 'the decimal would lose digits');
        }
        const factor = 10n ** BigInt(t.scale - f.scale);
        const values: unknown[] = [];
        for (let i = 0; i < length; i++) {
          const v = scalarAt(data, i);
          values.push(v === null ? null : formatDecimal((v as bigint) * factor, t.scale));
        }
        return rebuild(values);
      }
      if (from.typeId === Type.Int) {
        const values: unknown[] = [];
        for (let i = 0; i < length; i++) {
          const v = scalarAt(data, i);
          values.push(v === null ? null : String(v));
        }
        return rebuild(values);
      }
      return mismatch(column, from, to);
    }
    case Type.Date: {
      if (from.typeId === Type.Date) {
        if ((from as unknown as { unit: number }).unit === (to as unknown as { unit: number }).unit)
          return retypeData(data, to);
        const values: unknown[] = [];
        for (let i = 0; i < length; i++) values.push(scalarAt(data, i));
        return rebuild(values);
      }
      return mismatch(column, from, to);
    }
    case Type.Timestamp: {
      if (from.typeId === Type.Timestamp) {
        const fu = (from as unknown as { unit: TimeUnit }).unit;
        const tu = (to as unknown as { unit: TimeUnit }).unit;
        if (fu === tu && (data.values as unknown) instanceof BigInt64Array) return retypeData(data, to);
        const out = new BigInt64Array(length);
        for (let i = 0; i < length; i++) {
          const v = scalarAt(data, i);
          if (v !== null) out[i] = tu === TimeUnit.MICROSECOND ? (v as bigint) : mismatch(column, from, to);
        }
        return makeData({ type: to, length, nullCount, nullBitmap, data: out } as never);
      }
      if (from.typeId === Type.Date) {
        const out = new BigInt64Array(length);
        for (let i = 0; i < length; i++) {
          const v = scalarAt(data, i);
          if (v !== null) out[i] = BigInt(v as number) * 86_400_000_000n;
        }
        return makeData({ type: to, length, nullCount, nullBitmap, data: out } as never);
      }
      return mismatch(column, from, to);
    }
    case Type.Bool:
      return from.typeId === Type.Bool ? retypeData(data, to) : mismatch(column, from, to);
    case Type.Utf8:
    case Type.Binary: {
      const okFrom =
        to.typeId === Type.Utf8
          ? [Type.Utf8, Type.LargeUtf8, Type.Utf8View]
          : [Type.Binary, Type.LargeBinary, Type.BinaryView, Type.FixedSizeBinary];
      if (!okFrom.includes(from.typeId)) return mismatch(column, from, to);
      if (from.typeId === to.typeId) return retypeData(data, to);
      const values: unknown[] = [];
      for (let i = 0; i < length; i++) {
        if (!data.getValid(i)) values.push(null);
        else if (from.typeId === Type.Utf8View || from.typeId === Type.BinaryView) {
          values.push(viewAt(data, i));
        } else values.push(scalarAt(data, i));
      }
      return rebuild(values);
    }
    case Type.Struct: {
      if (from.typeId !== Type.Struct) return mismatch(column, from, to);
      const children = to.children.map((tf: Field) => {
        const idx = findSourceField(from.children, tf);
        const name = `${column}.${tf.name}`;
        if (idx < 0) {
          if (!tf.nullable && length > 0 && nullCount < length) {
            throw new LakehouseError('SCHEMA_MISMATCH', `column ${name} is missing and is not nullable`);
          }
          return nullData(tf.type, data.children[0]?.length ?? length);
        }
        return conformData(data.children[idx]!, tf.type, name);
      });
      return makeData({ type: to, length, nullCount, nullBitmap, children, offset: 0 } as never);
    }
    case Type.List: {
      if (![Type.List, Type.LargeList, Type.FixedSizeList].includes(from.typeId))
        return mismatch(column, from, to);
      const child = conformData(data.children[0]!, to.children[0]!.type, `${column}.element`);
      let offsets: Int32Array;
      if (from.typeId === Type.FixedSizeList) {
        const size = (from as unknown as { listSize: number }).listSize;
        offsets = Int32Array.from({ length: length + 1 }, (_, i) => (i + data.offset) * size);
      } else {
        offsets = Int32Array.from(data.valueOffsets as unknown as ArrayLike<number | bigint>, (v) =>
          Number(v),
        );
      }
      return makeData({ type: to, length, nullCount, nullBitmap, valueOffsets: offsets, child } as never);
    }
    case Type.Map: {
      if (from.typeId !== Type.Map) return mismatch(column, from, to);
      const fromEntries = data.children[0]!;
      const toEntries = to.children[0]!.type as Struct;
      const keys = conformData(fromEntries.children[0]!, toEntries.children[0]!.type, `${column}.key`);
      const vals = conformData(fromEntries.children[1]!, toEntries.children[1]!.type, `${column}.value`);
      const entries = makeData({
        type: toEntries,
        length: fromEntries.length,
        nullCount: 0,
        children: [keys, vals],
      } as never);
      const offsets = Int32Array.from(data.valueOffsets as unknown as ArrayLike<number>, (v) => Number(v));
      return makeData({
        type: to,
        length,
        nullCount,
        nullBitmap,
        valueOffsets: offsets,
        child: entries,
      } as never);
    }
  }
  return mismatch(column, from, to);
}

function viewAt(data: Data, i: number): string | Uint8Array | null {
  // Arrow's own accessor handles the view layout.
  return makeVector(data).get(i) as string | Uint8Array | null;
}

/**
 * A batch with exactly `schema`'s fields, in its order, conformed from `batch` (see
 * `conformData`). `what` prefixes error messages (e.g. the data file's path).
 */
export function conformBatch(batch: RecordBatch, schema: Schema): RecordBatch {
  const from = batch.schema.fields;
  const n = batch.numRows;
  const children = schema.fields.map((tf) => {
    const idx = findSourceField(from, tf);
    if (idx < 0) {
      if (!tf.nullable && n > 0) {
        throw new LakehouseError('SCHEMA_MISMATCH', `column ${tf.name} is missing and is not nullable`);
      }
      return nullData(tf.type, n);
    }
    const d = conformData(batch.data.children[idx]!, tf.type, tf.name);
    if (!tf.nullable && d.nullCount > 0) {
      throw new LakehouseError(
        'SCHEMA_MISMATCH',
        `column ${tf.name} has ${d.nullCount} null value(s) but is not nullable`,
      );
    }
    return d;
  });
  const struct = makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children } as never);
  return new RecordBatch(schema, struct as never);
}

/** A batch of the given columns only (by name, in that order). */
export function selectColumns(batch: RecordBatch, names: readonly string[]): RecordBatch {
  const idx = names.map((name) => {
    const i = batch.schema.fields.findIndex((f) => f.name === name);
    if (i < 0) throw new LakehouseError('INVALID_ARGUMENT', `no column ${name}`);
    return i;
  });
  const schema = new Schema(
    idx.map((i) => batch.schema.fields[i]!),
    batch.schema.metadata,
  );
  const struct = makeData({
    type: new Struct(schema.fields),
    length: batch.numRows,
    nullCount: 0,
    children: idx.map((i) => batch.data.children[i]!),
  } as never);
  return new RecordBatch(schema, struct as never);
}
