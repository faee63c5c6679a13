/**
 * Reading rows from files for `lakehouse write`: JSON Lines, CSV and Parquet, streamed as Arrow
 * batches.
 *
 * - JSON Lines: one object per line, values in the canonical encoding (or natural JSON: numbers,
 *   strings for dates and timestamps, objects for structs, arrays). Keys the schema lacks are
 *   typed from their values (integer → long, other numbers → double, text → string, true/false →
 *   boolean, objects → struct, arrays → array) so that `mergeSchema` can add them.
 * - CSV (RFC 4180): a header row names the columns; quoted fields may hold commas, quotes (`""`)
 *   and newlines; an empty unquoted field is null. Values are converted to the column types;
 *   unknown columns are typed from their texts (long, double, boolean, else string).
 * - Parquet: the file's own schema; read by row group through the same reader as tables.
 *
 * Errors name the file and the line (`rows.jsonl line 3: …`).
 */
import { createReadStream } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { RecordBatch, Schema } from 'apache-arrow';
import { arrowSchemaToDelta, deltaSchemaToArrow } from '../delta/arrow-schema.js';
import type { DeltaType, StructField, StructType } from '../delta/schema.js';
import { LakehouseError } from '../errors.js';
import { LocalObjectStore } from '../storage/local.js';
import { batchFromRows } from './arrow-build.js';
import { ParquetSource } from './parquet-io.js';

export type InputFormat = 'jsonl' | 'csv' | 'parquet';

export const INPUT_BATCH_ROWS = 8192;

/** The input format a file name implies (`.jsonl`/`.json`/`.ndjson`, `.csv`, `.parquet`). */
export function inputFormatOf(file: string): InputFormat {
  const ext = path.extname(file).toLowerCase();
  if (['.jsonl', '.ndjson', '.json'].includes(ext)) return 'jsonl';
  if (ext === '.csv') return 'csv';
  if (ext === '.parquet') return 'parquet';
  throw new LakehouseError(
    'INVALID_ARGUMENT',
    `input: cannot tell the format of ${file} from its extension; pass --input-format jsonl|csv|parquet`,
  );
}

/** The Delta type of a JSON value, for columns the schema does not know yet. */
export function inferJsonType(v: unknown): DeltaType | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isInteger(v) ? 'long' : 'double';
  if (typeof v === 'string') return 'string';
  if (Array.isArray(v)) {
    const el = v.map(inferJsonType).find((t) => t !== undefined) ?? 'string';
    return { type: 'array', elementType: el, containsNull: true };
  }
  if (typeof v === 'object') {
    return {
      type: 'struct',
      fields: Object.entries(v as Record<string, unknown>).map(([k, x]) => ({
        name: k,
        type: inferJsonType(x) ?? 'string',
        nullable: true,
        metadata: {},
      })),
    };
  }
  return undefined;
}

function inferTextType(values: string[]): DeltaType {
  const present = values.filter((v) => v !== '');
  if (present.length === 0) return 'string';
  if (present.every((v) => /^[+-]?\d{1,18}$/.test(v))) return 'long';
  if (present.every((v) => v.trim() !== '' && !Number.isNaN(Number(v)))) return 'double';
  if (present.every((v) => v === 'true' || v === 'false')) return 'boolean';
  return 'string';
}

/** `base` plus fields for keys it lacks, typed by `infer` over the sample rows. */
function extendSchema(
  base: StructType | undefined,
  keys: string[],
  infer: (key: string) => DeltaType,
): StructType {
  const fields: StructField[] = [...(base?.fields ?? [])];
  for (const k of keys) {
    if (fields.some((f) => f.name.toLowerCase() === k.toLowerCase())) continue;
    fields.push({ name: k, type: infer(k), nullable: true, metadata: {} });
  }
  return { type: 'struct', fields };
}

function keysInOrder(rows: readonly Record<string, unknown>[]): string[] {
  const seen = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) seen.add(k);
  return [...seen];
}

/**
 * A row keyed by the schema's field names (Delta names ignore case); a key the schema lacks is an
 * error, never silently dropped (it can appear only after the first batch fixed the schema).
 */
function matchKeys(
  row: Record<string, unknown>,
  schema: Schema,
  where: () => string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    const f =
      schema.fields.find((x) => x.name === k) ??
      schema.fields.find((x) => x.name.toLowerCase() === k.toLowerCase());
    if (!f) {
      throw new LakehouseError(
        'SCHEMA_MISMATCH',
        `${where()}: column ${k} is not in the schema (${schema.fields.map((x) => x.name).join(', ')}); ` +
          'a new column must appear in the first rows of the input to be added with --merge-schema',
      );
    }
    out[f.name] = v;
  }
  return out;
}

async function* lines(file: string): AsyncGenerator<string> {
  const stream = file === '-' ? process.stdin : createReadStream(file, { encoding: 'utf8' });
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of rl) yield line;
  } catch (err) {
    throw new LakehouseError('INVALID_ARGUMENT', `input: cannot read ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Batches from a JSON Lines file; `schema` is the table's (undefined for a new table). */
export async function* readJsonLines(file: string, schema?: StructType): AsyncGenerator<RecordBatch> {
  let arrow: Schema | undefined;
  let rows: Record<string, unknown>[] = [];
  let lineNo = 0;
  let firstLine = 1;
  const flush = (): RecordBatch => {
    if (!arrow) {
      const keys = keysInOrder(rows);
      arrow = deltaSchemaToArrow(
        extendSchema(
          schema,
          keys,
          (k) => rows.map((r) => inferJsonType(r[k])).find((t) => t !== undefined) ?? 'string',
        ),
      );
    }
    rows = rows.map((r, i) => matchKeys(r, arrow!, () => `input: ${file} line ${firstLine + i}`));
    try {
      return batchFromRows(arrow, rows);
    } catch (err) {
      const e = err as Error;
      const m = /row (\d+):/.exec(e.message);
      const where = m ? `line ${firstLine + Number(m[1]) - 1}` : `lines ${firstLine}..${lineNo}`;
      throw new LakehouseError(
        isLakehouseErrorCode(err) ?? 'INVALID_ARGUMENT',
        `input: ${file} ${where}: ${e.message.replace(/, row \d+/, '')}`,
        { cause: err },
      );
    }
  };
  for await (const line of lines(file)) {
    lineNo++;
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `input: ${file} line ${lineNo}: not JSON (${(err as Error).message})`,
      );
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `input: ${file} line ${lineNo}: expected a JSON object per line`,
      );
    }
    if (rows.length === 0) firstLine = lineNo;
    rows.push(value as Record<string, unknown>);
    if (rows.length >= INPUT_BATCH_ROWS) {
      yield flush();
      rows = [];
    }
  }
  if (rows.length > 0 || !arrow) yield flush();
}

function isLakehouseErrorCode(err: unknown): LakehouseError['code'] | undefined {
  return err instanceof LakehouseError ? err.code : undefined;
}

/** Split CSV text into records (RFC 4180), across chunks; `null` marks an empty unquoted field. */
export class CsvParser {
  private field = '';
  private record: (string | null)[] = [];
  private inQuotes = false;
  private quoted = false;
  private afterQuote = false;
  private pendingCR = false;

  /** Feed text; returns the complete records it finished. */
  push(text: string): (string | null)[][] {
    const out: (string | null)[][] = [];
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (this.pendingCR) {
        this.pendingCR = false;
        if (c === '\n') continue;
      }
      if (this.inQuotes) {
        if (c === '"') {
          if (text[i + 1] === '"') {
            this.field += '"';
            i++;
          } else if (i + 1 === text.length) {
            // A quote at the end of a chunk: decide on the next chunk.
            this.inQuotes = false;
            this.afterQuote = true;
          } else {
            this.inQuotes = false;
          }
        } else this.field += c;
        continue;
      }
      if (this.afterQuote) {
        this.afterQuote = false;
        if (c === '"') {
          this.field += '"';
          this.inQuotes = true;
          continue;
        }
      }
      if (c === '"' && this.field === '' && !this.quoted) {
        this.inQuotes = true;
        this.quoted = true;
      } else if (c === ',') {
        this.endField();
      } else if (c === '\n' || c === '\r') {
        this.endField();
        out.push(this.record);
        this.record = [];
        if (c === '\r') this.pendingCR = true;
      } else this.field += c;
    }
    return out;
  }

  /** The last record, if the text did not end with a newline. */
  end(): (string | null)[] | undefined {
    if (this.inQuotes) throw new LakehouseError('INVALID_ARGUMENT', 'input: CSV ends inside a quoted field');
    if (this.field === '' && this.record.length === 0 && !this.quoted) return undefined;
    this.endField();
    const r = this.record;
    this.record = [];
    return r;
  }

  private endField(): void {
    this.record.push(this.field === '' && !this.quoted ? null : this.field);
    this.field = '';
    this.quoted = false;
  }
}

/** Batches from a CSV file with a header row; `schema` is the table's (undefined for a new table). */
export async function* readCsv(file: string, schema?: StructType): AsyncGenerator<RecordBatch> {
  const stream = file === '-' ? process.stdin : createReadStream(file, { encoding: 'utf8' });
  const parser = new CsvParser();
  let header: string[] | undefined;
  let arrow: Schema | undefined;
  let rows: Record<string, unknown>[] = [];
  let recordNo = 0;
  const flush = (): RecordBatch => {
    if (!arrow) {
      arrow = deltaSchemaToArrow(
        extendSchema(schema, header ?? [], (k) =>
          inferTextType(rows.map((r) => (r[k] as string | null) ?? '')),
        ),
      );
    }
    rows = rows.map((r, i) =>
      matchKeys(r, arrow!, () => `input: ${file} record ${recordNo - rows.length + i + 1}`),
    );
    try {
      return batchFromRows(arrow, rows);
    } catch (err) {
      const e = err as Error;
      const m = /row (\d+):/.exec(e.message);
      const where = m ? `record ${recordNo - rows.length + Number(m[1])}` : 'records';
      throw new LakehouseError(
        isLakehouseErrorCode(err) ?? 'INVALID_ARGUMENT',
        `input: ${file} ${where}: ${e.message.replace(/, row \d+/, '')}`,
        {
          cause: err,
        },
      );
    }
  };
  const take = (record: (string | null)[]): RecordBatch | undefined => {
    if (!header) {
      header = record.map((h, i) => h ?? `_c${i}`);
      return undefined;
    }
    if (record.length === 1 && record[0] === null) return undefined; // blank line
    recordNo++;
    if (record.length !== header.length) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `input: ${file} record ${recordNo}: ${record.length} fields, but the header has ${header.length}`,
      );
    }
    const row: Record<string, unknown> = {};
    header.forEach((h, i) => (row[h] = record[i]));
    rows.push(row);
    if (rows.length >= INPUT_BATCH_ROWS) {
      const b = flush();
      rows = [];
      return b;
    }
    return undefined;
  };
  for await (const chunk of stream as AsyncIterable<string>) {
    for (const record of parser.push(chunk)) {
      const b = take(record);
      if (b) yield b;
    }
  }
  const last = parser.end();
  if (last) {
    const b = take(last);
    if (b) yield b;
  }
  if (!header)
    throw new LakehouseError('INVALID_ARGUMENT', `input: ${file} is empty; a CSV input needs a header row`);
  if (rows.length > 0 || !arrow) yield flush();
}

/** Batches of a Parquet file, in its own schema. */
export async function* readParquetInput(file: string): AsyncGenerator<RecordBatch> {
  const dir = path.dirname(path.resolve(file));
  const store = new LocalObjectStore(dir);
  const src = await ParquetSource.open(store, path.basename(file));
  try {
    let any = false;
    for await (const b of src.batches()) {
      any = true;
      yield b;
    }
    if (!any) {
      // An empty file still carries its schema.
      yield batchFromRows(deltaSchemaToArrow(arrowSchemaToDelta(await src.schema())), []);
    }
  } finally {
    src.close();
  }
}

/** Batches of an input file of any supported format. */
export function readInput(
  file: string,
  format: InputFormat,
  schema?: StructType,
): AsyncGenerator<RecordBatch> {
  switch (format) {
    case 'jsonl':
      return readJsonLines(file, schema);
    case 'csv':
      return readCsv(file, schema);
    case 'parquet':
      return readParquetInput(file);
  }
}
