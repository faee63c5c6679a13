/**
 * Z-order keys and clustering measures for OPTIMIZE ZORDER BY.
 *
 * - Each Z-order column's values are mapped to ranks: a reservoir sample of the partition's
 *   values gives quantile boundaries, and a value's rank is the number of boundaries at or below
 *   it, scaled to `bits` bits (nulls rank 0). Ranks, not raw values, so that skewed columns and
 *   strings spread over the whole key space.
 * - The Z-value interleaves the ranks' bits, most significant first (column order breaks ties
 *   within a bit level). With `k` columns each gets `min(16, floor(52 / k))` bits, so a Z-value is
 *   an exact integer in a `number` (at most 52 bits).
 * - `clusteringScore` measures, from file statistics alone, how much the files of a partition
 *   overlap on the Z-order columns: the mean share of the other files whose min/max box meets a
 *   file's box (0 = disjoint files, 1 = every file overlaps every other). A point lookup on those
 *   columns reads about `1 + score × (n − 1)` of `n` files.
 * - `RowSampler` keeps a joint reservoir sample of whole rows of the Z-order columns: the per-column
 *   rank boundaries and the Z-value quantiles that split a partition into output files both come
 *   from it, so a partition of any size is clustered from one bounded sample (as Spark's
 *   range partitioning does) instead of from every row's Z-value held in memory.
 */
import { type Data, Type } from 'apache-arrow';
import type { AddAction } from '../delta/actions.js';
import { scalarAt, type Scalar } from '../data/arrow-values.js';
import { parseStats } from '../data/expr-eval.js';
import { compareStrings } from '../data/stats.js';

/** Values of one Z-order column, comparable with `compareScalars`. */
export type ZValue = number | bigint | string | boolean;

/** Sample size per column for the quantile boundaries. */
export const ZORDER_SAMPLE_SIZE = 8192;

/** Bits per column for `k` Z-order columns. */
export function bitsPerColumn(k: number): number {
  return Math.max(1, Math.min(16, Math.floor(52 / Math.max(1, k))));
}

/** Order of two non-null values of one column. */
export function compareScalars(a: ZValue, b: ZValue): number {
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  if (typeof a === 'boolean' || typeof b === 'boolean') return Number(a) - Number(b);
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    const x = BigInt(a as bigint | number);
    const y = BigInt(b as bigint | number);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

/** A deterministic PRNG (mulberry32), so repeated runs cluster identically. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Reservoir sample of a column's non-null values. */
export class ColumnSampler {
  private readonly sample: ZValue[] = [];
  private seen = 0;
  private readonly random = prng(0x5eed);

  constructor(private readonly capacity = ZORDER_SAMPLE_SIZE) {}

  add(data: Data): void {
    for (let i = 0; i < data.length; i++) {
      const v = scalarAt(data, i);
      if (v === null || v instanceof Uint8Array) continue;
      this.seen++;
      if (this.sample.length < this.capacity) this.sample.push(v);
      else {
        const j = Math.floor(this.random() * this.seen);
        if (j < this.capacity) this.sample[j] = v;
      }
    }
  }

  /** The rank mapping for `bits` bits. */
  ranker(bits: number): ColumnRanker {
    return rankerFromValues([...this.sample], bits);
  }
}

/** Maps a column's values to ranks in [0, 2^bits). */
export class ColumnRanker {
  private readonly scale: number;

  constructor(
    private readonly bounds: readonly ZValue[],
    bits: number,
  ) {
    this.scale = bounds.length === 0 ? 0 : (2 ** bits - 1) / bounds.length;
    this.numeric = bounds.every((b) => typeof b === 'number');
  }

  private readonly numeric: boolean;

  rank(v: Scalar): number {
    if (v === null || v instanceof Uint8Array) return 0;
    if (this.numeric && typeof v === 'number') {
      // All boundaries are numbers: compare directly (the hot path for double columns).
      const bounds = this.bounds as readonly number[];
      let lo = 0;
      let hi = bounds.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (bounds[mid]! <= v) lo = mid + 1;
        else hi = mid;
      }
      return Math.floor(lo * this.scale);
    }
    // Number of boundaries <= v (upper bound by binary search).
    let lo = 0;
    let hi = this.bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareScalars(this.bounds[mid]!, v) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return Math.floor(lo * this.scale);
  }
}

/** Interleave the bits of `ranks` (each `bits` wide), most significant bit first. */
export function interleave(ranks: readonly number[], bits: number): number {
  let z = 0;
  // Ranks have at most 16 bits (bitsPerColumn), so integer shifts are exact.
  for (let b = bits - 1; b >= 0; b--) {
    for (let c = 0; c < ranks.length; c++) z = z * 2 + ((ranks[c]! >>> b) & 1);
  }
  return z;
}

/** Z-values of the rows of one batch, given each Z column's data and ranker. */
export function zValues(
  columns: readonly Data[],
  rankers: readonly ColumnRanker[],
  bits: number,
): Float64Array {
  const n = columns[0]?.length ?? 0;
  const out = new Float64Array(n);
  const ranks = new Array<number>(columns.length).fill(0);
  // Doubles without nulls are read straight from their buffer (no per-row type dispatch).
  const direct = columns.map((d) =>
    d.typeId === Type.Float && d.nullCount === 0 && d.values instanceof Float64Array
      ? (d.values as Float64Array)
      : undefined,
  );
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < columns.length; c++) {
      const values = direct[c];
      ranks[c] = rankers[c]!.rank(values ? values[i]! : scalarAt(columns[c]!, i));
    }
    out[i] = interleave(ranks, bits);
  }
  return out;
}

/**
 * A joint reservoir sample of rows of the Z-order columns (deterministic: the same input gives
 * the same sample). `rankers` derives each column's rank boundaries from the sampled values;
 * `zBounds` the Z-values that split the sampled rows into `parts` parts of equal count.
 */
export class RowSampler {
  private readonly rows: Scalar[][] = [];
  private seen = 0;
  private readonly random = prng(0x5eed);

  constructor(private readonly capacity = ZORDER_ROW_SAMPLE_SIZE) {}

  /** Rows sampled so far. */
  get size(): number {
    return this.rows.length;
  }

  add(columns: readonly Data[]): void {
    const n = columns[0]?.length ?? 0;
    for (let i = 0; i < n; i++) {
      this.seen++;
      let slot = this.rows.length;
      if (slot >= this.capacity) {
        slot = Math.floor(this.random() * this.seen);
        if (slot >= this.capacity) continue;
      }
      this.rows[slot] = columns.map((d) => scalarAt(d, i));
    }
  }

  rankers(bits: number): ColumnRanker[] {
    const k = this.rows[0]?.length ?? 0;
    return Array.from({ length: k }, (_, c) => {
      const values: ZValue[] = [];
      for (const r of this.rows) {
        const v = r[c];
        if (v !== null && v !== undefined && !(v instanceof Uint8Array)) values.push(v);
      }
      return rankerFromValues(values, bits);
    });
  }

  /** Z-value boundaries splitting the sample into `parts` parts: `parts - 1` non-decreasing values. */
  zBounds(rankers: readonly ColumnRanker[], bits: number, parts: number): Float64Array {
    const z = new Float64Array(this.rows.length);
    const ranks = new Array<number>(rankers.length).fill(0);
    this.rows.forEach((r, i) => {
      for (let c = 0; c < rankers.length; c++) ranks[c] = rankers[c]!.rank(r[c] ?? null);
      z[i] = interleave(ranks, bits);
    });
    z.sort();
    const bounds = new Float64Array(Math.max(0, parts - 1));
    for (let j = 1; j < parts; j++) bounds[j - 1] = z.length ? z[Math.floor((j * z.length) / parts)]! : 0;
    return bounds;
  }
}

/** Rows in a `RowSampler`'s sample. */
export const ZORDER_ROW_SAMPLE_SIZE = 65_536;

/** The part (0 … bounds.length) a Z-value falls in: the number of bounds at or below it. */
export function partOf(bounds: Float64Array, z: number): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bounds[mid]! <= z) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function rankerFromValues(values: ZValue[], bits: number): ColumnRanker {
  const sorted = values.sort(compareScalars);
  const buckets = Math.min(2 ** bits, sorted.length);
  const bounds: ZValue[] = [];
  for (let j = 1; j < buckets; j++) {
    const v = sorted[Math.floor((j * sorted.length) / buckets)]!;
    if (bounds.length === 0 || compareScalars(bounds[bounds.length - 1]!, v) < 0) bounds.push(v);
  }
  return new ColumnRanker(bounds, bits);
}

function statBound(obj: unknown, name: string): unknown {
  if (obj === null || typeof obj !== 'object') return undefined;
  return (obj as Record<string, unknown>)[name];
}

function compareStat(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The overlap of files on the given (physical) stats columns: mean over files of the share of
 * the other files whose min/max box meets this file's box. A file without bounds for a column
 * spans everything on it. 0 for fewer than two files.
 */
export function clusteringScore(
  files: readonly Pick<AddAction, 'stats'>[],
  physicalColumns: readonly string[],
): number {
  const n = files.length;
  if (n < 2) return 0;
  const boxes = files.map((f) => {
    const s = parseStats(f.stats);
    return physicalColumns.map((c) => {
      const lo = statBound(s?.minValues, c);
      const hi = statBound(s?.maxValues, c);
      return lo === undefined || lo === null || hi === undefined || hi === null ? null : { lo, hi };
    });
  });
  let total = 0;
  for (let i = 0; i < n; i++) {
    let meets = 0;
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const overlap = boxes[i]!.every((a, c) => {
        const b = boxes[j]![c];
        if (!a || !b) return true;
        return compareStat(a.lo, b.hi) <= 0 && compareStat(b.lo, a.hi) <= 0;
      });
      if (overlap) meets++;
    }
    total += meets / (n - 1);
  }
  return total / n;
}
