import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import { deltaSchemaToArrow } from '../../lib/delta/arrow-schema.js';
import type { StructType } from '../../lib/delta/schema.js';
import { batchFromRows } from '../../lib/data/arrow-build.js';
import { canonicalRows } from '../../lib/data/arrow-values.js';
import { scanTable, type ScanOptions } from '../../lib/ops/scan.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { resolveSchema } from '../../lib/ops/create.js';

export function tempTable(label: string): { dir: string; store: LocalObjectStore } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `lk-${label}-`));
  return { dir, store: new LocalObjectStore(dir) };
}

/** A batch of rows (canonical JSON values) with a schema given as a column list or Delta JSON. */
export function rowsBatch(schema: StructType | string, rows: Record<string, unknown>[]): RecordBatch {
  return batchFromRows(deltaSchemaToArrow(resolveSchema(schema)), rows);
}

/** Our scan's canonical rows, sorted like the peers sort them. */
export async function readRows(store: LocalObjectStore, options: ScanOptions = {}): Promise<string[]> {
  const scan = await scanTable(store, options);
  const rows: string[] = [];
  for await (const b of scan) rows.push(...canonicalRows(b));
  return rows.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The canonical text of plain rows (keys already in schema order). */
export function canonical(rows: Record<string, unknown>[]): string[] {
  return rows.map((r) => JSON.stringify(r)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
