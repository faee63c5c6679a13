/**
 * Per-file statistics for `add.stats`, collected from the Arrow batches as they are written.
 *
 * Contract (what Spark and delta-rs expect to read):
 * - `{"numRecords":N,"minValues":{...},"maxValues":{...},"nullCount":{...}}`, nested like the
 *   schema (struct fields as nested objects), keyed by the names written to Parquet (physical names
 *   under column mapping).
 * - Only the first `numIndexedCols` leaf columns, depth-first in schema order, get statistics
 *   (`delta.dataSkippingNumIndexedCols`, default 32; -1 means all). Arrays and maps count as one
 *   leaf and get a null count only; booleans and binary get null counts only.
 * - Every bound is a true bound: strings longer than 32 characters are cut to a 32-character
 *   prefix for the minimum, and for the maximum cut and then raised (last character incremented)
 *   so that it stays above every value. Timestamps are written with millisecond precision, the
 *   minimum rounded down and the maximum rounded up. A float column holding NaN gets no bounds.
 */
import { type Data, type DataType, type Field, type RecordBatch, Type } from 'apache-arrow';
import { formatDate, formatDecimal, formatTimestampMicros, scalarAt, type Scalar } from './arrow-values.js';

export const DEFAULT_NUM_INDEXED_COLS = 32;
export const STRING_PREFIX_LENGTH = 32;

/** Compare two strings by Unicode code point (= UTF-8 byte order, the order Parquet and Spark use). */
export function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      // Surrogates (supplementary characters) sort after U+E000..U+FFFF in code point order.
      if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      return x - y;
    }
  }
  return a.length - b.length;
}

/** The smallest string of at most `prefix` code points that is ≤ `s` (its prefix). */
export function truncateMin(s: string, prefix = STRING_PREFIX_LENGTH): string {
  const cps = Array.from(s);
  return cps.length <= prefix ? s : cps.slice(0, prefix).join('');
}

/**
 * A string of at most `prefix` code points that is ≥ `s`: `s` itself when short enough, else its
 * prefix with the last code point incremented (dropping trailing U+10FFFF). Undefined when no
 * such bound exists (a prefix made only of U+10FFFF).
 */
export function truncateMax(s: string, prefix = STRING_PREFIX_LENGTH): string | undefined {
  const cps = Array.from(s);
  if (cps.length <= prefix) return s;
  const kept = cps.slice(0, prefix).map((c) => c.codePointAt(0)!);
  while (kept.length > 0) {
    let last = kept.pop()! + 1;
    if (last >= 0xd800 && last <= 0xdfff) last = 0xe000;
    if (last <= 0x10ffff) {
      kept.push(last);
      return String.fromCodePoint(...kept);
    }
  }
  return undefined;
}

type LeafKind =
  'int' | 'bigint' | 'float' | 'decimal' | 'date' | 'timestamp' | 'timestamp_ntz' | 'string' | 'countOnly';

interface Leaf {
  path: string[];
  kind: LeafKind;
  scale: number;
  /** Getter for the leaf's data within a batch (struct children descend). */
  data: (batch: RecordBatch) => Data[];
  min: Scalar;
  max: Scalar;
  hasNaN: boolean;
  nulls: number;
}

function kindOf(type: DataType): LeafKind {
  switch (type.typeId) {
    case Type.Int:
      return (type as unknown as { bitWidth: number }).bitWidth === 64 ? 'bigint' : 'int';
    case Type.Float:
      return 'float';
    case Type.Decimal:
      return 'decimal';
    case Type.Date:
      return 'date';
    case Type.Timestamp:
      return (type as unknown as { timezone: string | null }).timezone ? 'timestamp' : 'timestamp_ntz';
    case Type.Utf8:
    case Type.LargeUtf8:
      return 'string';
    default:
      return 'countOnly';
  }
}

function less(kind: LeafKind, a: Scalar, b: Scalar): boolean {
  if (kind === 'string') return compareStrings(a as string, b as string) < 0;
  return (a as number) < (b as number);
}

/** Accumulates statistics over the batches of one data file. */
export class StatsCollector {
  private numRecords = 0;
  private readonly leaves: Leaf[] = [];

  constructor(fields: readonly Field[], numIndexedCols = DEFAULT_NUM_INDEXED_COLS) {
    const limit = numIndexedCols < 0 ? Infinity : numIndexedCols;
    const walk = (fs: readonly Field[], path: string[], chain: number[]): void => {
      fs.forEach((f, i) => {
        if (this.leaves.length >= limit) return;
        const here = [...chain, i];
        if (f.type.typeId === Type.Struct) {
          walk(f.type.children, [...path, f.name], here);
          return;
        }
        this.leaves.push({
          path: [...path, f.name],
          kind: kindOf(f.type),
          scale: (f.type as unknown as { scale?: number }).scale ?? 0,
          data: (batch) => {
            // The chain of data from the top column down to the leaf (for null propagation).
            const out: Data[] = [];
            let d: Data = batch.data.children[here[0]!]!;
            out.push(d);
            for (const k of here.slice(1)) {
              d = d.children[k]!;
              out.push(d);
            }
            return out;
          },
          min: null,
          max: null,
          hasNaN: false,
          nulls: 0,
        });
      });
    };
    walk(fields, [], []);
  }

  /** Add one batch (same schema as the fields given to the constructor). */
  update(batch: RecordBatch): void {
    this.numRecords += batch.numRows;
    for (const leaf of this.leaves) {
      const chain = leaf.data(batch);
      const data = chain[chain.length - 1]!;
      const anyNulls = chain.some((d) => d.nullCount > 0);
      // Top-level columns of the common layouts: straight over the buffers (no per-row scalars).
      if (chain.length === 1 && updateColumnar(leaf, data, batch.numRows)) continue;
      for (let i = 0; i < batch.numRows; i++) {
        if (anyNulls && !chain.every((d) => d.getValid(i))) {
          leaf.nulls++;
          continue;
        }
        if (leaf.kind === 'countOnly') continue;
        const v = scalarAt(data, i);
        if (leaf.kind === 'float' && Number.isNaN(v)) {
          leaf.hasNaN = true;
          continue;
        }
        if (leaf.min === null || less(leaf.kind, v, leaf.min)) leaf.min = v;
        if (leaf.max === null || less(leaf.kind, leaf.max, v)) leaf.max = v;
      }
    }
  }

  get rows(): number {
    return this.numRecords;
  }

  /** The `add.stats` JSON text. */
  toJson(): string {
    const minValues: Record<string, unknown> = {};
    const maxValues: Record<string, unknown> = {};
    const nullCount: Record<string, unknown> = {};
    for (const leaf of this.leaves) {
      setPath(nullCount, leaf.path, new RawJson(String(leaf.nulls)));
      if (leaf.kind === 'countOnly' || leaf.min === null || leaf.hasNaN) continue;
      const lo = encodeBound(leaf, leaf.min, 'min');
      const hi = encodeBound(leaf, leaf.max, 'max');
      if (lo !== undefined) setPath(minValues, leaf.path, lo);
      if (hi !== undefined) setPath(maxValues, leaf.path, hi);
    }
    return stringifyStats({
      numRecords: new RawJson(String(this.numRecords)),
      minValues,
      maxValues,
      nullCount,
    });
  }
}

/**
 * `update` for one top-level column read straight from its buffers: integers, floats, dates,
 * timestamps (bounds found on the raw values, then converted once: every unit conversion is
 * monotonic) and strings (compared as UTF-8 bytes, which is code point order, decoded once).
 * False when the layout is not one of these (the caller falls back to per-row scalars).
 */
function updateColumnar(leaf: Leaf, data: Data, n: number): boolean {
  const kind = leaf.kind;
  const type = data.type as DataType;
  const valid = data.nullCount > 0 ? (i: number) => data.getValid(i) : undefined;
  if (kind === 'countOnly') {
    if (valid) for (let i = 0; i < n; i++) if (!valid(i)) leaf.nulls++;
    return true;
  }
  if (type.typeId === Type.Dictionary) return false;
  if (kind === 'string') {
    if (type.typeId !== Type.Utf8) return false;
    const offsets = data.valueOffsets as Int32Array;
    const bytes = data.values as Uint8Array;
    let lo = -1;
    let hi = -1;
    for (let i = 0; i < n; i++) {
      if (valid && !valid(i)) {
        leaf.nulls++;
        continue;
      }
      if (lo < 0) {
        lo = hi = i;
        continue;
      }
      if (compareUtf8(bytes, offsets[i]!, offsets[i + 1]!, offsets[lo]!, offsets[lo + 1]!) < 0) lo = i;
      else if (compareUtf8(bytes, offsets[i]!, offsets[i + 1]!, offsets[hi]!, offsets[hi + 1]!) > 0) hi = i;
    }
    if (lo >= 0) mergeBounds(leaf, scalarAt(data, lo), scalarAt(data, hi));
    return true;
  }
  const values = data.values as ArrayLike<number | bigint>;
  if (kind === 'float') {
    // Half floats are stored as raw 16-bit words: leave them to scalarAt.
    if (!(values instanceof Float64Array || values instanceof Float32Array)) return false;
    const v = values;
    let lo = Infinity;
    let hi = -Infinity;
    let seen = false;
    for (let i = 0; i < n; i++) {
      if (valid && !valid(i)) {
        leaf.nulls++;
        continue;
      }
      const x = v[i]!;
      if (x !== x) {
        leaf.hasNaN = true;
        continue;
      }
      seen = true;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    // -0 and 0 compare equal: take the first seen as scalarAt order would (either is a true bound).
    if (seen) mergeBounds(leaf, Number(lo), Number(hi));
    return true;
  }
  if (kind === 'decimal') return false;
  // int, bigint, date (days or ms), timestamp: find the positions of the extremes, then convert.
  let lo = -1;
  let hi = -1;
  if (values instanceof BigInt64Array) {
    // Compare as (high word signed, low word unsigned) pairs: no bigint per row.
    const words = new Int32Array(values.buffer, values.byteOffset, values.length * 2);
    for (let i = 0; i < n; i++) {
      if (valid && !valid(i)) {
        leaf.nulls++;
        continue;
      }
      if (lo < 0) {
        lo = hi = i;
        continue;
      }
      const h = words[2 * i + 1]!;
      const l = words[2 * i]! >>> 0;
      const lh = words[2 * lo + 1]!;
      if (h < lh || (h === lh && l < words[2 * lo]! >>> 0)) lo = i;
      const hh = words[2 * hi + 1]!;
      if (h > hh || (h === hh && l > words[2 * hi]! >>> 0)) hi = i;
    }
  } else if (values instanceof Int32Array || values instanceof Int16Array || values instanceof Int8Array) {
    for (let i = 0; i < n; i++) {
      if (valid && !valid(i)) {
        leaf.nulls++;
        continue;
      }
      if (lo < 0) {
        lo = hi = i;
        continue;
      }
      const x = values[i]!;
      if (x < values[lo]!) lo = i;
      if (x > values[hi]!) hi = i;
    }
  } else return false;
  if (lo >= 0) mergeBounds(leaf, scalarAt(data, lo), scalarAt(data, hi));
  return true;
}

/** Fold one batch's bounds into the leaf's. */
function mergeBounds(leaf: Leaf, lo: Scalar, hi: Scalar): void {
  if (lo === null || hi === null) return;
  if (leaf.min === null || less(leaf.kind, lo, leaf.min)) leaf.min = lo;
  if (leaf.max === null || less(leaf.kind, leaf.max, hi)) leaf.max = hi;
}

/** Compare bytes[a0, a1) with bytes[b0, b1) (unsigned, then by length). */
function compareUtf8(bytes: Uint8Array, a0: number, a1: number, b0: number, b1: number): number {
  const n = Math.min(a1 - a0, b1 - b0);
  for (let k = 0; k < n; k++) {
    const d = bytes[a0 + k]! - bytes[b0 + k]!;
    if (d !== 0) return d;
  }
  return a1 - a0 - (b1 - b0);
}

/** A value already rendered as JSON text (exact decimals and 64-bit integers). */
class RawJson {
  constructor(readonly text: string) {}
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let o = obj;
  for (const p of path.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
  o[path[path.length - 1]!] = value;
}

function floorMillis(micros: bigint): bigint {
  const r = ((micros % 1000n) + 1000n) % 1000n;
  return micros - r;
}

function encodeBound(leaf: Leaf, v: Scalar, which: 'min' | 'max'): unknown {
  switch (leaf.kind) {
    case 'int':
    case 'bigint':
      return new RawJson(String(v));
    case 'float': {
      const n = v as number;
      if (!Number.isFinite(n)) return undefined;
      // Exact text of the float; negative zero as 0 so that both bounds compare as numbers.
      return new RawJson(Object.is(n, -0) ? '-0.0' : String(n));
    }
    case 'decimal':
      return new RawJson(formatDecimal(v as bigint, leaf.scale));
    case 'date':
      return formatDate(v as number);
    case 'timestamp':
    case 'timestamp_ntz': {
      const micros = v as bigint;
      const ms = which === 'min' ? floorMillis(micros) : floorMillis(micros + 999n);
      const text = formatTimestampMicros(ms).slice(0, 23);
      return leaf.kind === 'timestamp' ? `${text}Z` : text;
    }
    case 'string':
      return which === 'min' ? truncateMin(v as string) : truncateMax(v as string);
  }
  return undefined;
}

function stringifyStats(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (typeof value === 'string') return JSON.stringify(value);
  const entries = Object.entries(value as Record<string, unknown>);
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stringifyStats(v)}`).join(',')}}`;
}
