/**
 * Skipping rows inside one Parquet file by its own statistics: row groups whose footer statistics
 * rule a filter out, and pages whose column index (min/max per page, with the offset index's
 * first row of each page) rule it out.
 *
 * Contract: `candidateRowRanges` returns the row ranges (row group, offset, limit) that may hold a
 * row for which the filter is true; every row outside them provably makes it false or NULL. It
 * returns undefined when it cannot prune anything (read the whole file). Only statistics whose
 * meaning is unambiguous are used: top-level integer, long, date and string columns (no floats:
 * writers leave NaN out of the bounds, and NaN sorts above every number in a comparison;
 * no decimals, timestamps, binary or nested columns). Partition values are exact, as in file
 * skipping. The same three-valued evaluation as Delta data skipping decides (`fileTruth`).
 */
import { type ColumnChunk, type FileMetaData, readColumnIndex, readOffsetIndex } from 'hyparquet';
import type { ColumnMappingMode, StructType } from '../delta/schema.js';
import { physicalName } from '../delta/schema.js';
import { formatDate } from './arrow-values.js';
import { type Expr, referencedColumns } from './expr.js';
import { fileTruth, type FileInfo, T, type TableColumns } from './expr-eval.js';
import type { ParquetSource, RowRange } from './parquet-io.js';

const PRUNABLE = new Set(['byte', 'short', 'integer', 'long', 'string', 'date']);

/** One column the filter refers to, as stored in the file. */
interface StatColumn {
  /** The physical (file) name, the key of the statistics. */
  name: string;
  deltaType: string;
  /** Index of its column chunk within each row group. */
  chunk: number;
}

/** A statistics bound in the form Delta's JSON statistics use (what `fileTruth` reads). */
function jsonBound(v: unknown, deltaType: string): unknown {
  if (v === undefined || v === null) return undefined;
  switch (deltaType) {
    case 'string':
      return typeof v === 'string' ? v : undefined;
    case 'date':
      if (v instanceof Date) return formatDate(Math.floor(v.getTime() / 86_400_000));
      return typeof v === 'number' ? formatDate(v) : undefined;
    case 'long':
      if (typeof v === 'bigint') return v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : undefined;
      return typeof v === 'number' ? v : undefined;
    default:
      return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined;
  }
}

function statsInfo(
  partitionValues: Record<string, string | null>,
  rows: number,
  bounds: { name: string; min: unknown; max: unknown; nulls: number | undefined }[],
): FileInfo {
  const minValues: Record<string, unknown> = {};
  const maxValues: Record<string, unknown> = {};
  const nullCount: Record<string, unknown> = {};
  for (const b of bounds) {
    if (b.min !== undefined && b.max !== undefined) {
      minValues[b.name] = b.min;
      maxValues[b.name] = b.max;
    }
    if (b.nulls !== undefined) nullCount[b.name] = b.nulls;
  }
  return { partitionValues, stats: { numRecords: rows, minValues, maxValues, nullCount } };
}

/** The columns of `filter` whose statistics can be used, or undefined when none can. */
function statColumns(
  filter: Expr,
  schema: StructType,
  mode: ColumnMappingMode,
  partitionColumns: readonly string[],
  footer: FileMetaData,
): StatColumn[] | undefined {
  if (mode === 'id') return undefined; // file columns are matched by field id: keep it simple
  const chunks = footer.row_groups[0]?.columns ?? [];
  const out: StatColumn[] = [];
  const lowerParts = new Set(partitionColumns.map((c) => c.toLowerCase()));
  for (const ref of referencedColumns(filter)) {
    if (ref.length !== 1 || lowerParts.has(ref[0]!.toLowerCase())) continue;
    const field =
      schema.fields.find((f) => f.name === ref[0]) ??
      schema.fields.find((f) => f.name.toLowerCase() === ref[0]!.toLowerCase());
    if (!field || typeof field.type !== 'string' || !PRUNABLE.has(field.type)) continue;
    const name = physicalName(field, mode);
    const chunk = chunks.findIndex(
      (c) => c.meta_data?.path_in_schema.length === 1 && c.meta_data.path_in_schema[0] === name,
    );
    if (chunk < 0) continue;
    const el = footer.schema.find((e) => e.name === name && !e.num_children);
    if (
      !el ||
      el.converted_type?.startsWith('UINT') ||
      (el.logical_type as { isSigned?: boolean } | undefined)?.isSigned === false
    )
      continue;
    if (!out.some((c) => c.name === name)) out.push({ name, deltaType: field.type, chunk });
  }
  return out.length ? out : undefined;
}

/** Per page of one column chunk: first row, and bounds (undefined when no column index). */
async function pageStats(
  src: ParquetSource,
  footer: FileMetaData,
  chunk: ColumnChunk,
  col: StatColumn,
): Promise<
  | { firstRow: number[]; min: unknown[]; max: unknown[]; nulls: (number | undefined)[]; allNull: boolean[] }
  | undefined
> {
  const { offset_index_offset: oio, offset_index_length: oil } = chunk;
  const { column_index_offset: cio, column_index_length: cil } = chunk;
  if (oio === undefined || oil === undefined || cio === undefined || cil === undefined) return undefined;
  const [oBytes, cBytes] = await Promise.all([
    src.readRange(Number(oio), Number(oio) + oil),
    src.readRange(Number(cio), Number(cio) + cil),
  ]);
  const el = footer.schema.find((e) => e.name === col.name && !e.num_children)!;
  // Raw physical values (ints, bigints, strings): the Delta conversion is done by jsonBound.
  const raw = { ...el, converted_type: undefined, logical_type: undefined };
  const offsets = readOffsetIndex({
    view: new DataView(oBytes.buffer, oBytes.byteOffset, oBytes.byteLength),
    offset: 0,
  });
  const index = readColumnIndex(
    { view: new DataView(cBytes.buffer, cBytes.byteOffset, cBytes.byteLength), offset: 0 },
    raw as never,
  );
  const n = offsets.page_locations.length;
  if (index.min_values.length !== n || index.max_values.length !== n) return undefined;
  const toBound = (v: unknown, isNull: boolean): unknown =>
    isNull ? undefined : jsonBound(v, col.deltaType);
  return {
    firstRow: offsets.page_locations.map((p) => Number(p.first_row_index)),
    min: index.min_values.map((v, i) => toBound(v, index.null_pages[i] === true)),
    max: index.max_values.map((v, i) => toBound(v, index.null_pages[i] === true)),
    nulls: index.null_counts ? index.null_counts.map((c) => Number(c)) : new Array(n).fill(undefined),
    allNull: offsets.page_locations.map((_, i) => index.null_pages[i] === true),
  };
}

/**
 * The rows of this file that may satisfy `filter` (see the module contract), or undefined when
 * the file's statistics prune nothing.
 */
export async function candidateRowRanges(
  src: ParquetSource,
  filter: Expr,
  table: TableColumns,
  partitionValues: Record<string, string | null>,
): Promise<RowRange[] | undefined> {
  const footer = src.metadata;
  const cols = statColumns(filter, table.schema, table.mode ?? 'none', table.partitionColumns, footer);
  if (!cols) return undefined;
  const ranges: RowRange[] = [];
  let pruned = false;
  for (let g = 0; g < footer.row_groups.length; g++) {
    const rg = footer.row_groups[g]!;
    const rows = Number(rg.num_rows);
    if (rows === 0) continue;
    // Row group statistics from the footer.
    const rgInfo = statsInfo(
      partitionValues,
      rows,
      cols.map((c) => {
        const st = rg.columns[c.chunk]?.meta_data?.statistics;
        const min = jsonBound(st?.min_value, c.deltaType);
        const max = jsonBound(st?.max_value, c.deltaType);
        const nulls = st?.null_count !== undefined ? Number(st.null_count) : undefined;
        return { name: c.name, min, max, nulls };
      }),
    );
    if (!(fileTruth(filter, table, rgInfo) & T)) {
      pruned = true;
      continue;
    }
    // Pages: cut the row group where any referenced column's page starts.
    const pages = await Promise.all(cols.map((c) => pageStats(src, footer, rg.columns[c.chunk]!, c)));
    if (pages.some((p) => p === undefined)) {
      ranges.push({ rowGroup: g, offset: 0, limit: rows });
      continue;
    }
    const cuts = [...new Set(pages.flatMap((p) => p!.firstRow).concat([0]))]
      .filter((r) => r < rows)
      .sort((a, b) => a - b);
    const cursor = pages.map(() => 0);
    for (let k = 0; k < cuts.length; k++) {
      const start = cuts[k]!;
      const end = k + 1 < cuts.length ? cuts[k + 1]! : rows;
      const info = statsInfo(
        partitionValues,
        end - start,
        cols.map((c, j) => {
          const p = pages[j]!;
          while (cursor[j]! + 1 < p.firstRow.length && p.firstRow[cursor[j]! + 1]! <= start) cursor[j]!++;
          const i = cursor[j]!;
          // A page's null count covers the whole page; a part of it may hold fewer nulls.
          const nulls = p.allNull[i] ? end - start : p.nulls[i] === 0 ? 0 : undefined;
          return { name: c.name, min: p.min[i], max: p.max[i], nulls };
        }),
      );
      if (!(fileTruth(filter, table, info) & T)) {
        pruned = true;
        continue;
      }
      const last = ranges[ranges.length - 1];
      if (last && last.rowGroup === g && last.offset + last.limit === start) last.limit += end - start;
      else ranges.push({ rowGroup: g, offset: start, limit: end - start });
    }
  }
  return pruned ? ranges : undefined;
}
