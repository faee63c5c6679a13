/**
 * Evaluating filter expressions (`expr.ts`) three ways:
 *
 * - `evaluateBatch`: on the rows of an Arrow batch, exactly, with SQL three-valued logic.
 * - `fileTruth`: on one data file's partition values and statistics, as the set of truth values
 *   the expression can take over that file's rows ({true, false, null}). Partition values are
 *   exact; statistics bound the values (min ≤ v ≤ max, null counts). The answer is always a
 *   superset of the real one, so a file is skipped only when it provably has no matching row.
 * - `mightMatch(add, schema, partitionColumns)`: "can this file hold a row the filter keeps?"
 *   (partition pruning and data skipping in one).
 */
import type { Data, DataType, RecordBatch } from 'apache-arrow';
import { Type } from 'apache-arrow';
import type { AddAction } from '../delta/actions.js';
import { arrowTypeToDelta, parseDecimal } from '../delta/arrow-schema.js';
import type { ColumnMappingMode, DeltaType, StructField, StructType } from '../delta/schema.js';
import { isStruct, physicalName } from '../delta/schema.js';
import { LakehouseError } from '../errors.js';
import { parseDateText, parseDecimalText, parseTimestampText } from './arrow-build.js';
import { scalarAt } from './arrow-values.js';
import type { CompareOp, Expr, Literal } from './expr.js';
import { parsePartitionValue } from './partition.js';
import { compareStrings } from './stats.js';

/** Values in the comparison domain: numbers, bigints (long, decimal unscaled, timestamps), strings, booleans. */
type Value = number | bigint | string | boolean;

/** A column's Delta type, reduced to what comparisons need. */
interface ColumnKind {
  type: DeltaType;
  /** Decimal scale (0 otherwise). */
  scale: number;
}

function bad(what: string): never {
  throw new LakehouseError('INVALID_ARGUMENT', `filter: ${what}`);
}

function literalText(l: Literal): string {
  return l.kind === 'number'
    ? l.text
    : l.kind === 'string'
      ? `'${l.value}'`
      : l.kind === 'boolean'
        ? String(l.value)
        : 'NULL';
}

/**
 * A literal converted to the domain of a column, or null for NULL. Decimals come back with the
 * scale the comparison needs (`scale` ≥ the column's), see `decimalScale`.
 */
function coerce(l: Literal, kind: ColumnKind, column: string, scale = kind.scale): Value | null {
  if (l.kind === 'null') return null;
  const t = kind.type;
  const fail = (): never =>
    bad(`${literalText(l)} is not a valid ${typeof t === 'string' ? t : 'value'} for column ${column}`);
  if (typeof t !== 'string') return bad(`column ${column} is not a primitive column; it cannot be compared`);
  if (parseDecimal(t)) {
    const text = l.kind === 'number' ? l.text : l.kind === 'string' ? l.value : fail();
    return parseDecimalText(text, scale) ?? fail();
  }
  switch (t) {
    case 'byte':
    case 'short':
    case 'integer':
    case 'float':
    case 'double': {
      if (l.kind === 'string' && ['NaN', 'Infinity', '-Infinity'].includes(l.value)) return Number(l.value);
      const text = l.kind === 'number' ? l.text : l.kind === 'string' ? l.value : fail();
      const n = Number(text);
      return Number.isNaN(n) ? fail() : n;
    }
    case 'long': {
      const text = l.kind === 'number' ? l.text : l.kind === 'string' ? l.value : fail();
      if (/^\s*[+-]?\d+\s*$/.test(text)) return BigInt(text.trim());
      const n = Number(text);
      return Number.isNaN(n) ? fail() : n;
    }
    case 'string':
      return l.kind === 'string'
        ? l.value
        : l.kind === 'number'
          ? l.text
          : String((l as { value: unknown }).value);
    case 'boolean':
      if (l.kind === 'boolean') return l.value;
      if (l.kind === 'string' && (l.value === 'true' || l.value === 'false')) return l.value === 'true';
      return fail();
    case 'date': {
      if (l.kind !== 'string') return fail();
      const d = parseDateText(l.value);
      if (d !== undefined) return d;
      const ts = parseTimestampText(l.value);
      return ts === undefined ? fail() : Number(ts / 86_400_000_000n);
    }
    case 'timestamp':
    case 'timestamp_ntz': {
      if (l.kind !== 'string') return fail();
      return parseTimestampText(l.value) ?? fail();
    }
  }
  return bad(`column ${column} of type ${t} cannot be compared`);
}

/** The fraction digits a decimal literal has. */
function literalScale(l: Literal): number {
  const text = l.kind === 'number' ? l.text : l.kind === 'string' ? l.value : '';
  const m = /\.(\d*)/.exec(text.replace(/[eE].*$/, ''));
  return m ? m[1]!.length : 0;
}

/** Compare two domain values: negative, zero, positive. NaN equals NaN and sorts above all numbers (Spark). */
export function compareValues(a: Value, b: Value): number {
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  if (typeof a === 'boolean' || typeof b === 'boolean') return Number(a) - Number(b);
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  const x = Number(a);
  const y = Number(b);
  const xn = Number.isNaN(x);
  const yn = Number.isNaN(y);
  if (xn || yn) return xn && yn ? 0 : xn ? 1 : -1;
  if (x === y && typeof a !== typeof b) {
    // number vs bigint beyond 2^53: compare exactly when the number is an integer
    if (Number.isInteger(x)) {
      const ba = typeof a === 'bigint' ? a : BigInt(a as number);
      const bb = typeof b === 'bigint' ? b : BigInt(b as number);
      return ba < bb ? -1 : ba > bb ? 1 : 0;
    }
  }
  return x < y ? -1 : x > y ? 1 : 0;
}

function holds(op: CompareOp, c: number): boolean {
  switch (op) {
    case '=':
      return c === 0;
    case '!=':
      return c !== 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
  }
}

// ---------------------------------------------------------------- rows of a batch

/** Per row: 1 true, 0 false, -1 null. */
export type Truth = Int8Array;

interface ResolvedColumn {
  chain: Data[];
  kind: ColumnKind;
  name: string;
}

function resolveBatchColumn(batch: RecordBatch, path: string[]): ResolvedColumn {
  let fields = batch.schema.fields;
  let datas = batch.data.children;
  const chain: Data[] = [];
  let type: DataType | undefined;
  for (const [depth, part] of path.entries()) {
    let idx = fields.findIndex((f) => f.name === part);
    if (idx < 0) idx = fields.findIndex((f) => f.name.toLowerCase() === part.toLowerCase());
    if (idx < 0)
      bad(
        `no column ${path.slice(0, depth + 1).join('.')}; columns are ${fields.map((f) => f.name).join(', ')}`,
      );
    const d = datas[idx]!;
    chain.push(d);
    type = fields[idx]!.type as DataType;
    if (depth < path.length - 1) {
      if (type.typeId !== Type.Struct) bad(`${path.slice(0, depth + 1).join('.')} is not a struct`);
      fields = type.children;
      datas = d.children;
    }
  }
  const deltaType = arrowTypeToDelta(type!, path.join('.'));
  const dec = typeof deltaType === 'string' ? parseDecimal(deltaType) : undefined;
  return { chain, kind: { type: deltaType, scale: dec ? dec[1] : 0 }, name: path.join('.') };
}

function columnValue(col: ResolvedColumn, i: number): Value | null {
  for (const d of col.chain) if (!d.getValid(i)) return null;
  return scalarAt(col.chain[col.chain.length - 1]!, i) as Value;
}

/** Evaluate on every row of a batch (three-valued). */
export function evaluateBatch(e: Expr, batch: RecordBatch): Truth {
  const n = batch.numRows;
  const out = new Int8Array(n);
  switch (e.kind) {
    case 'and':
    case 'or': {
      const a = evaluateBatch(e.left, batch);
      const b = evaluateBatch(e.right, batch);
      if (e.kind === 'and') for (let i = 0; i < n; i++) out[i] = and3(a[i]!, b[i]!);
      else for (let i = 0; i < n; i++) out[i] = or3(a[i]!, b[i]!);
      return out;
    }
    case 'not': {
      const a = evaluateBatch(e.expr, batch);
      for (let i = 0; i < n; i++) out[i] = a[i] === -1 ? -1 : 1 - a[i]!;
      return out;
    }
    case 'literal': {
      const v = e.value;
      out.fill(
        v.kind === 'null'
          ? -1
          : v.kind === 'boolean'
            ? v.value
              ? 1
              : 0
            : (bad(`${literalText(v)} is not a condition`) as number),
      );
      return out;
    }
    case 'column': {
      const col = resolveBatchColumn(batch, e.column);
      if (col.kind.type !== 'boolean') bad(`column ${col.name} is not boolean; compare it with a value`);
      for (let i = 0; i < n; i++) {
        const v = columnValue(col, i);
        out[i] = v === null ? -1 : v ? 1 : 0;
      }
      return out;
    }
    case 'isNull': {
      const col = resolveBatchColumn(batch, e.column);
      for (let i = 0; i < n; i++) out[i] = col.chain.every((d) => d.getValid(i)) ? 0 : 1;
      return out;
    }
    case 'compare':
    case 'in': {
      const col = resolveBatchColumn(batch, e.column);
      const lits = e.kind === 'compare' ? [e.value] : e.values;
      const op: CompareOp = e.kind === 'compare' ? e.op : '=';
      const isDecimal = typeof col.kind.type === 'string' && parseDecimal(col.kind.type) !== undefined;
      const scale = isDecimal ? Math.max(col.kind.scale, ...lits.map(literalScale)) : 0;
      const factor = 10n ** BigInt(isDecimal ? scale - col.kind.scale : 0);
      const values = lits.map((l) => coerce(l, col.kind, col.name, scale));
      if (e.kind === 'compare' && !isDecimal && compareColumnar(col, op, values[0]!, out)) return out;
      for (let i = 0; i < n; i++) {
        let v = columnValue(col, i);
        if (v === null) {
          out[i] = -1;
          continue;
        }
        if (isDecimal) v = (v as bigint) * factor;
        let r = 0;
        for (const lit of values) {
          if (lit === null) {
            r = r === 1 ? 1 : -1;
            continue;
          }
          if (holds(op, compareValues(v, lit))) {
            r = 1;
            break;
          }
        }
        out[i] = r;
      }
      return out;
    }
  }
}

/**
 * `column op literal` over a top-level numeric column, straight from its buffers (the per-row
 * path reads each value as a scalar). Same results as the generic path: NULL rows are -1, NaN
 * equals NaN and sorts above every number. False when the layout or literal is not handled.
 */
function compareColumnar(col: ResolvedColumn, op: CompareOp, lit: Value | null, out: Truth): boolean {
  if (col.chain.length !== 1 || lit === null) return false;
  const data = col.chain[0]!;
  const t = data.type as DataType;
  const n = out.length;
  const values = data.values as unknown;
  let cmp: (i: number) => number;
  if (
    values instanceof BigInt64Array &&
    typeof lit === 'bigint' &&
    (t.typeId === Type.Int || (t.typeId === Type.Timestamp && (t as unknown as { unit: number }).unit === 2)) // microseconds
  ) {
    if (lit < -(2n ** 63n) || lit >= 2n ** 63n) return false;
    const words = new Int32Array(values.buffer, values.byteOffset, values.length * 2);
    const litHi = Number(BigInt.asIntN(32, lit >> 32n));
    const litLo = Number(BigInt.asUintN(32, lit));
    cmp = (i) => {
      const h = words[2 * i + 1]!;
      if (h !== litHi) return h < litHi ? -1 : 1;
      const l = words[2 * i]! >>> 0;
      return l < litLo ? -1 : l > litLo ? 1 : 0;
    };
  } else if (
    typeof lit === 'number' &&
    (values instanceof Int32Array ||
      values instanceof Int16Array ||
      values instanceof Int8Array ||
      values instanceof Float64Array ||
      values instanceof Float32Array) &&
    (t.typeId === Type.Int ||
      t.typeId === Type.Float ||
      (t.typeId === Type.Date && (t as unknown as { unit: number }).unit === 0))
  ) {
    const v = values;
    const litNaN = Number.isNaN(lit);
    cmp = (i) => {
      const x = v[i]!;
      if (x !== x) return litNaN ? 0 : 1;
      if (litNaN) return -1;
      return x < lit ? -1 : x > lit ? 1 : 0;
    };
  } else return false;
  const nulls = data.nullCount > 0;
  for (let i = 0; i < n; i++) {
    if (nulls && !data.getValid(i)) {
      out[i] = -1;
      continue;
    }
    out[i] = holds(op, cmp(i)) ? 1 : 0;
  }
  return true;
}

function and3(a: number, b: number): number {
  if (a === 0 || b === 0) return 0;
  if (a === -1 || b === -1) return -1;
  return 1;
}
function or3(a: number, b: number): number {
  if (a === 1 || b === 1) return 1;
  if (a === -1 || b === -1) return -1;
  return 0;
}

/** Indexes of the rows where the expression is true. */
export function selectRows(e: Expr, batch: RecordBatch): number[] {
  const t = evaluateBatch(e, batch);
  const out: number[] = [];
  for (let i = 0; i < t.length; i++) if (t[i] === 1) out.push(i);
  return out;
}

// ---------------------------------------------------------------- files: partitions and statistics

/** Bit set of truth values: T = 1, F = 2, N = 4. */
export const T = 1;
export const F = 2;
export const N = 4;
const ALL = T | F | N;

function combine(a: number, b: number, f: (x: number, y: number) => number): number {
  let out = 0;
  const vals = [
    [T, 1],
    [F, 0],
    [N, -1],
  ] as const;
  for (const [ba, va] of vals) {
    if (!(a & ba)) continue;
    for (const [bb, vb] of vals) {
      if (!(b & bb)) continue;
      const r = f(va, vb);
      out |= r === 1 ? T : r === 0 ? F : N;
    }
  }
  return out;
}

export interface FileInfo {
  partitionValues: Record<string, string | null>;
  /** Parsed `add.stats`, if any. */
  stats?: {
    numRecords?: number;
    minValues?: Record<string, unknown>;
    maxValues?: Record<string, unknown>;
    nullCount?: Record<string, unknown>;
  } | null;
}

export interface TableColumns {
  schema: StructType;
  partitionColumns: readonly string[];
  mode?: ColumnMappingMode;
}

function findFieldCI(fields: readonly StructField[], name: string): StructField | undefined {
  return (
    fields.find((f) => f.name === name) ?? fields.find((f) => f.name.toLowerCase() === name.toLowerCase())
  );
}

function statAt(obj: Record<string, unknown> | undefined, path: string[]): unknown {
  let o: unknown = obj;
  for (const p of path) {
    if (o === null || typeof o !== 'object') return undefined;
    o = (o as Record<string, unknown>)[p];
  }
  return o;
}

/** A statistics bound (JSON value) in the comparison domain, or undefined when unusable. */
function statValue(v: unknown, kind: ColumnKind): Value | undefined {
  if (v === null || v === undefined) return undefined;
  const t = kind.type;
  if (typeof t !== 'string') return undefined;
  const dec = parseDecimal(t);
  if (dec) {
    // JSON numbers are doubles: beyond 15 significant digits the bound may have been rounded
    // the wrong way, so such statistics are not used.
    if (dec[0] > 15 || (typeof v !== 'number' && typeof v !== 'string')) return undefined;
    return parseDecimalText(String(v), kind.scale);
  }
  switch (t) {
    case 'byte':
    case 'short':
    case 'integer':
    case 'double':
      return typeof v === 'number' ? v : undefined;
    case 'float':
      // Writers print the shortest text of the float32 (0.1 for 0.100000001490116…): recover it.
      return typeof v === 'number' ? Math.fround(v) : undefined;
    case 'long':
      return typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : undefined;
    case 'string':
      return typeof v === 'string' ? v : undefined;
    case 'date':
      return typeof v === 'string' ? (parseDateText(v) ?? undefined) : undefined;
    case 'timestamp':
    case 'timestamp_ntz':
      return typeof v === 'string' ? (parseTimestampText(v) ?? undefined) : undefined;
  }
  return undefined;
}

function toDomain(v: unknown, kind: ColumnKind): Value | null {
  if (v === null || v === undefined) return null;
  if (typeof kind.type === 'string' && parseDecimal(kind.type))
    return parseDecimalText(String(v), kind.scale) ?? null;
  if (typeof v === 'bigint' && kind.type !== 'long') return Number(v);
  if (v instanceof Uint8Array) return null;
  return v as Value;
}

interface FileColumn {
  kind: ColumnKind;
  name: string;
  /** Exact value for partition columns (null = null partition). */
  exact?: { value: Value | null };
  min?: Value;
  max?: Value;
  nullCount?: number;
  numRecords?: number;
}

function resolveFileColumn(path: string[], table: TableColumns, file: FileInfo): FileColumn {
  const mode = table.mode ?? 'none';
  let fields = table.schema.fields;
  const physical: string[] = [];
  let field: StructField | undefined;
  for (const [depth, part] of path.entries()) {
    field = findFieldCI(fields, part);
    if (!field)
      bad(
        `no column ${path.slice(0, depth + 1).join('.')}; columns are ${fields.map((f) => f.name).join(', ')}`,
      );
    physical.push(physicalName(field, mode));
    if (depth < path.length - 1) {
      if (!isStruct(field.type)) bad(`${path.slice(0, depth + 1).join('.')} is not a struct`);
      fields = field.type.fields;
    }
  }
  const name = path.join('.');
  const dec = typeof field!.type === 'string' ? parseDecimal(field!.type) : undefined;
  const kind: ColumnKind = { type: field!.type, scale: dec ? dec[1] : 0 };
  if (
    path.length === 1 &&
    table.partitionColumns.some((c) => c.toLowerCase() === field!.name.toLowerCase())
  ) {
    const raw = file.partitionValues[physical[0]!] ?? file.partitionValues[field!.name];
    return { kind, name, exact: { value: toDomain(parsePartitionValue(field!.type, raw, name), kind) } };
  }
  const stats = file.stats;
  const out: FileColumn = { kind, name };
  if (!stats) return out;
  if (typeof stats.numRecords === 'number') out.numRecords = stats.numRecords;
  const nc = statAt(stats.nullCount as Record<string, unknown>, physical);
  if (typeof nc === 'number') out.nullCount = nc;
  const lo = statValue(statAt(stats.minValues as Record<string, unknown>, physical), kind);
  const hi = statValue(statAt(stats.maxValues as Record<string, unknown>, physical), kind);
  if (lo !== undefined && hi !== undefined) {
    // Timestamp statistics are kept at millisecond precision: Spark truncates, some delta-rs
    // versions round to the nearest millisecond; widen both bounds by a millisecond.
    const ts = kind.type === 'timestamp' || kind.type === 'timestamp_ntz';
    out.min = ts ? (lo as bigint) - 1000n : lo;
    out.max = ts ? (hi as bigint) + 1000n : hi;
  }
  return out;
}

function nullPossibilities(c: FileColumn): { someNull: boolean; someValue: boolean } {
  if (c.exact) return { someNull: c.exact.value === null, someValue: c.exact.value !== null };
  const someNull = c.nullCount === undefined || c.nullCount > 0;
  const someValue = c.nullCount === undefined || c.numRecords === undefined || c.nullCount < c.numRecords;
  return { someNull, someValue };
}

function comparePossibilities(c: FileColumn, op: CompareOp, lit: Value): number {
  if (c.exact) {
    if (c.exact.value === null) return N;
    return holds(op, compareValues(c.exact.value, lit)) ? T : F;
  }
  const { someNull, someValue } = nullPossibilities(c);
  let out = someNull ? N : 0;
  if (!someValue) return out;
  if (c.min === undefined || c.max === undefined || (typeof lit === 'number' && Number.isNaN(lit)))
    return out | T | F;
  const lo = compareValues(c.min, lit); // min vs lit
  const hi = compareValues(c.max, lit); // max vs lit
  const allEqual = lo === 0 && hi === 0;
  let canT: boolean;
  let canF: boolean;
  switch (op) {
    case '=':
      canT = lo <= 0 && hi >= 0;
      canF = !allEqual;
      break;
    case '!=':
      canT = !allEqual;
      canF = lo <= 0 && hi >= 0;
      break;
    case '<':
      canT = lo < 0;
      canF = hi >= 0;
      break;
    case '<=':
      canT = lo <= 0;
      canF = hi > 0;
      break;
    case '>':
      canT = hi > 0;
      canF = lo <= 0;
      break;
    case '>=':
      canT = hi >= 0;
      canF = lo < 0;
      break;
  }
  // A float column may hold NaN that its statistics leave out.
  if (c.kind.type === 'float' || c.kind.type === 'double') {
    canT = true;
    canF = true;
  }
  if (canT) out |= T;
  if (canF) out |= F;
  return out;
}

/** The truth values `e` can take over the rows of one file (bit set of T, F, N). */
export function fileTruth(e: Expr, table: TableColumns, file: FileInfo): number {
  switch (e.kind) {
    case 'and':
      return combine(fileTruth(e.left, table, file), fileTruth(e.right, table, file), and3);
    case 'or':
      return combine(fileTruth(e.left, table, file), fileTruth(e.right, table, file), or3);
    case 'not': {
      const a = fileTruth(e.expr, table, file);
      return (a & T ? F : 0) | (a & F ? T : 0) | (a & N);
    }
    case 'literal':
      return e.value.kind === 'null' ? N : e.value.kind === 'boolean' ? (e.value.value ? T : F) : ALL;
    case 'column': {
      const c = resolveFileColumn(e.column, table, file);
      if (c.exact) return c.exact.value === null ? N : c.exact.value ? T : F;
      const { someNull, someValue } = nullPossibilities(c);
      return (someNull ? N : 0) | (someValue ? T | F : 0);
    }
    case 'isNull': {
      const c = resolveFileColumn(e.column, table, file);
      const { someNull, someValue } = nullPossibilities(c);
      return (someNull ? T : 0) | (someValue ? F : 0);
    }
    case 'compare':
    case 'in': {
      const c = resolveFileColumn(e.column, table, file);
      const lits = e.kind === 'compare' ? [e.value] : e.values;
      const op: CompareOp = e.kind === 'compare' ? e.op : '=';
      const isDecimal = typeof c.kind.type === 'string' && parseDecimal(c.kind.type) !== undefined;
      const scale = isDecimal ? Math.max(c.kind.scale, ...lits.map(literalScale)) : 0;
      const factor = 10n ** BigInt(isDecimal ? scale - c.kind.scale : 0);
      const scaled: FileColumn =
        factor === 1n
          ? c
          : {
              ...c,
              exact: c.exact && { value: c.exact.value === null ? null : (c.exact.value as bigint) * factor },
              min: c.min === undefined ? undefined : (c.min as bigint) * factor,
              max: c.max === undefined ? undefined : (c.max as bigint) * factor,
            };
      let out: number | undefined;
      for (const l of lits) {
        const v = coerce(l, c.kind, c.name, scale);
        const one = v === null ? N : comparePossibilities(scaled, op, v);
        out = out === undefined ? one : combine(out, one, or3);
      }
      return out!;
    }
  }
}

/** Parse `add.stats` leniently: unreadable statistics just mean "no statistics". */
export function parseStats(stats: string | null | undefined): FileInfo['stats'] {
  if (!stats) return null;
  try {
    return JSON.parse(stats) as FileInfo['stats'];
  } catch {
    return null;
  }
}

/**
 * Can this file hold a row for which `e` is true? False only when its partition values or
 * statistics prove it cannot (then a scan skips it).
 */
export function mightMatch(
  e: Expr,
  add: Pick<AddAction, 'partitionValues' | 'stats'>,
  table: TableColumns,
): boolean {
  return (
    (fileTruth(e, table, { partitionValues: add.partitionValues, stats: parseStats(add.stats) }) & T) !== 0
  );
}

/** Is `e` true for every row of this file (so a delete may drop it whole)? */
export function coversFile(
  e: Expr,
  add: Pick<AddAction, 'partitionValues' | 'stats'>,
  table: TableColumns,
): boolean {
  return fileTruth(e, table, { partitionValues: add.partitionValues, stats: parseStats(add.stats) }) === T;
}

/** True when every column the expression refers to is a partition column. */
export function onlyPartitionColumns(refs: string[][], partitionColumns: readonly string[]): boolean {
  const lower = new Set(partitionColumns.map((c) => c.toLowerCase()));
  return refs.every((r) => r.length === 1 && lower.has(r[0]!.toLowerCase()));
}
