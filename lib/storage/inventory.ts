import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { LakehouseError, isLakehouseError } from '../errors.js';
import { openStore, type StorageOptions } from './index.js';
import type { ObjectMeta, ObjectStore } from './object-store.js';
import { parseLocation } from './uri.js';

/**
 * Inventory reports as listings: the objects of one table, read from a bucket inventory instead
 * of LIST calls (one report file replaces thousands of LIST pages on a large table).
 *
 * Formats, detected from the manifest:
 * - S3 Inventory: `manifest.json` with `fileFormat` CSV (gzip, no header, columns named by
 *   `fileSchema`, keys URL-encoded) or Parquet (`key`, `size`, `last_modified_date`, …);
 *   `files[].key` are keys in the destination bucket. Rows with `IsLatest` false or
 *   `IsDeleteMarker` true (versioned inventories) are skipped.
 * - Azure blob inventory: `<rule>-manifest.json` with `files[].blob`; CSV files with a header row
 *   (`Name` as `<container>/<blob>`, `Last-Modified`, `Content-Length`, optional `Deleted`,
 *   `IsCurrentVersion`, `Snapshot`).
 * - GCS Storage Insights inventory: a manifest with `report_shards_file_names`; CSV shards with a
 *   header (`bucket`, `name`, `size`, `updated`).
 * Azure and GCS reports may also be Parquet (detected by its magic bytes), with the same columns.
 * Report files named in a manifest are found relative to the manifest's folder or one of its
 * ancestors (the layouts put them beside it or under a sibling `data/` folder).
 *
 * Contract: yields every object of the report whose key is under the table's prefix (and, when
 * the report names buckets, in the table's bucket), path relative to the table root, with size
 * and last-modified time. An inventory is a snapshot of the past: callers that delete must
 * re-check each object (`head`) before acting on it. Errors: NOT_FOUND (manifest or report file
 * missing), INVALID_ARGUMENT (not a manifest of a known kind, or a report without the size or
 * last-modified column, naming what to add).
 */
export interface InventoryScope {
  /** The bucket or container of the table; rows of other buckets are skipped (when rows name one). */
  bucket?: string;
  /** The table's key prefix in the bucket, without slashes at either end ('' for the whole bucket). */
  prefix: string;
}

export interface InventoryOptions {
  /** Which objects belong to the table. Default: from `tableUri`. */
  scope?: InventoryScope;
  /** The table URI, to derive the scope from (s3://, az://, abfss://, gs://). */
  tableUri?: string;
  /** Options to open the store holding the manifest and report files. */
  storageOptions?: StorageOptions;
}

export type InventoryKind = 's3' | 'azure' | 'gcs';

/** The scope of a table URI: its bucket/container and prefix. Local tables: keys relative to the table. */
export function inventoryScopeOf(tableUri: string): InventoryScope {
  const loc = parseLocation(tableUri);
  if (loc.scheme === 'file') return { prefix: '' };
  if (loc.scheme === 'azure') return { bucket: loc.container, prefix: loc.prefix };
  return { bucket: loc.bucket, prefix: loc.prefix };
}

interface Row {
  bucket?: string;
  key: string;
  size: number;
  lastModified: number;
}

/** The objects of a table listed in an inventory report (see the module comment). */
export async function* readInventory(
  manifestUri: string,
  options: InventoryOptions = {},
): AsyncGenerator<ObjectMeta> {
  const scope = options.scope ?? (options.tableUri ? inventoryScopeOf(options.tableUri) : { prefix: '' });
  const { store, key: manifestKey } = await openBucketRoot(manifestUri, options.storageOptions ?? {});
  try {
    const manifest = parseManifest(await store.get(manifestKey), manifestUri);
    const kind = manifestKind(manifest, manifestUri);
    const resolver = fileResolver(store, manifestKey);
    const prefix = scope.prefix ? `${scope.prefix}/` : '';
    for (const file of reportFiles(manifest, kind, manifestUri)) {
      const bytes = await store.get(await resolver(file));
      for (const row of await rowsOf(kind, manifest, file, bytes)) {
        if (scope.bucket !== undefined && row.bucket !== undefined && row.bucket !== scope.bucket) continue;
        if (!row.key.startsWith(prefix)) continue;
        const rel = row.key.slice(prefix.length);
        if (!rel || rel.endsWith('/')) continue; // the prefix itself, folder markers
        yield { path: rel, size: row.size, lastModified: row.lastModified };
      }
    }
  } finally {
    await store.close?.();
  }
}

/** A store at the root of the manifest's bucket (or the file system root), and the manifest's key in it. */
async function openBucketRoot(
  uri: string,
  options: StorageOptions,
): Promise<{ store: ObjectStore; key: string }> {
  const loc = parseLocation(uri);
  if (loc.scheme === 'file') {
    const parsed = path.parse(loc.path);
    return { store: await openStore(parsed.root, options), key: loc.path.slice(parsed.root.length) };
  }
  const bucket = loc.scheme === 'azure' ? loc.container : loc.bucket;
  const rootUri = uri.slice(0, uri.length - loc.prefix.length).replace(/\/+$/, '');
  if (!loc.prefix)
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `inventory: ${uri} names a bucket, not a manifest file in ${bucket}`,
    );
  return { store: await openStore(rootUri, options), key: loc.prefix };
}

type Manifest = Record<string, unknown>;

function parseManifest(bytes: Uint8Array, uri: string): Manifest {
  try {
    const m = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    if (typeof m === 'object' && m !== null && !Array.isArray(m)) return m as Manifest;
  } catch {
    // reported below
  }
  throw new LakehouseError('INVALID_ARGUMENT', `inventory: ${uri} is not a JSON manifest`);
}

/** Which cloud wrote a manifest. */
export function manifestKind(m: Manifest, uri = 'manifest'): InventoryKind {
  if (Array.isArray(m.report_shards_file_names)) return 'gcs';
  const files = Array.isArray(m.files) ? (m.files as Record<string, unknown>[]) : null;
  if (files && ('fileFormat' in m || files.some((f) => typeof f?.key === 'string'))) return 's3';
  if (files && ('destinationContainer' in m || files.some((f) => typeof f?.blob === 'string')))
    return 'azure';
  throw new LakehouseError(
    'INVALID_ARGUMENT',
    `inventory: ${uri} is not an inventory manifest: expected S3 Inventory (files[].key), Azure blob inventory (files[].blob) or GCS inventory (report_shards_file_names)`,
  );
}

function reportFiles(m: Manifest, kind: InventoryKind, uri: string): string[] {
  const names =
    kind === 'gcs'
      ? (m.report_shards_file_names as unknown[])
      : (m.files as Record<string, unknown>[]).map((f) => (kind === 's3' ? f?.key : f?.blob));
  for (const n of names)
    if (typeof n !== 'string' || !n)
      throw new LakehouseError('INVALID_ARGUMENT', `inventory: ${uri} lists a report file without a name`);
  return names as string[];
}

/** Report file names resolved against the manifest's folder or its nearest ancestor that has them. */
function fileResolver(store: ObjectStore, manifestKey: string): (name: string) => Promise<string> {
  const dirs: string[] = [];
  for (let d = path.posix.dirname(manifestKey); ; d = path.posix.dirname(d)) {
    dirs.push(d === '.' || d === '/' ? '' : d);
    if (d === '.' || d === '/' || d === '') break;
  }
  let chosen: string | undefined;
  const join = (dir: string, name: string): string => (dir ? `${dir}/${name}` : name);
  return async (name) => {
    const clean = name.replace(/^\/+/, '');
    for (const dir of chosen === undefined ? dirs : [chosen, ...dirs]) {
      try {
        await store.head(join(dir, clean));
        chosen = dir;
        return join(dir, clean);
      } catch (err) {
        if (!isLakehouseError(err, 'NOT_FOUND')) throw err;
      }
    }
    throw new LakehouseError(
      'NOT_FOUND',
      `inventory: report file ${name} named by ${manifestKey} was not found beside the manifest or under any of its parent folders`,
    );
  };
}

async function rowsOf(
  kind: InventoryKind,
  m: Manifest,
  file: string,
  bytes: Uint8Array,
): Promise<Iterable<Row>> {
  const data = file.endsWith('.gz') || (bytes[0] === 0x1f && bytes[1] === 0x8b) ? gunzipSync(bytes) : bytes;
  if (kind === 's3') {
    const format = String(m.fileFormat ?? 'CSV').toUpperCase();
    if (format === 'PARQUET') return s3ParquetRows(data, file);
    if (format !== 'CSV')
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `inventory: S3 Inventory format ${format} is not supported; configure the report as CSV or Parquet`,
      );
    const columns = String(m.fileSchema ?? '')
      .split(',')
      .map((c) => c.trim().toLowerCase());
    return tableRows(parseCsv(new TextDecoder().decode(data)), columns, file, {
      bucket: 'bucket',
      key: 'key',
      size: 'size',
      lastModified: 'lastmodifieddate',
      urlEncoded: true,
      skip: (r) => r.islatest === 'false' || r.isdeletemarker === 'true',
    });
  }
  const records = isParquet(data) ? await parquetRecords(data) : parseCsv(new TextDecoder().decode(data));
  if (records.length === 0) return []; // an empty shard
  const header = (records.shift() ?? []).map((c) => c.trim().toLowerCase());
  if (kind === 'azure')
    return tableRows(records, header, file, {
      key: 'name',
      containerInKey: true,
      size: 'content-length',
      lastModified: 'last-modified',
      skip: (r) => r.deleted === 'true' || r.iscurrentversion === 'false' || Boolean(r.snapshot),
    });
  return tableRows(records, header, file, {
    bucket: 'bucket',
    key: 'name',
    size: 'size',
    lastModified: 'updated',
  });
}

interface ColumnMap {
  bucket?: string;
  key: string;
  /** The key starts with the container (Azure: an inventory rule spans the account's containers). */
  containerInKey?: boolean;
  size: string;
  lastModified: string;
  urlEncoded?: boolean;
  skip?: (row: Record<string, string>) => boolean;
}

function* tableRows(records: string[][], columns: string[], file: string, map: ColumnMap): Generator<Row> {
  for (const need of [map.key, map.size, map.lastModified])
    if (!columns.includes(need))
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `inventory: ${file} has no ${need} column (columns: ${columns.join(', ') || 'none'}); vacuum needs the key, size and last-modified date: add them to the inventory's fields`,
      );
  for (const rec of records) {
    if (rec.length === 1 && rec[0] === '') continue;
    const r: Record<string, string> = {};
    columns.forEach((c, i) => (r[c] = rec[i] ?? ''));
    if (map.skip?.(r)) continue;
    const rawKey = r[map.key]!;
    const key = map.urlEncoded ? decodeURIComponent(rawKey.replace(/\+/g, ' ')) : rawKey;
    const size = Number(r[map.size]);
    const lastModified = parseTime(r[map.lastModified]!);
    if (!Number.isFinite(size) || Number.isNaN(lastModified))
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `inventory: ${file}: row for ${key} has size "${r[map.size]}" and last-modified "${r[map.lastModified]}"; expected a number and a date`,
      );
    if (map.containerInKey) {
      const slash = key.indexOf('/');
      if (slash > 0) yield { bucket: key.slice(0, slash), key: key.slice(slash + 1), size, lastModified };
      continue;
    }
    yield { ...(map.bucket && r[map.bucket] ? { bucket: r[map.bucket] } : {}), key, size, lastModified };
  }
}

/** ISO 8601 (any fraction digits), RFC 1123, or ms since the epoch. */
function parseTime(text: string): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  return Date.parse(t.replace(/(\.\d{3})\d+/, '$1'));
}

async function s3ParquetRows(data: Uint8Array, file: string): Promise<Row[]> {
  const buffer = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  const rows = (await parquetReadObjects({ file: buffer, compressors })) as Record<string, unknown>[];
  const out: Row[] = [];
  for (const r of rows) {
    if (r.is_latest === false || r.is_delete_marker === true) continue;
    if (!('key' in r) || !('size' in r) || !('last_modified_date' in r))
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `inventory: ${file} lacks key, size or last_modified_date; add Size and LastModifiedDate to the inventory's fields`,
      );
    const lm = r.last_modified_date;
    const lastModified =
      lm instanceof Date
        ? lm.getTime()
        : typeof lm === 'bigint'
          ? Number(lm)
          : typeof lm === 'number'
            ? lm
            : parseTime(String(lm));
    out.push({
      ...(typeof r.bucket === 'string' ? { bucket: r.bucket } : {}),
      key: String(r.key),
      size: Number(r.size),
      lastModified,
    });
  }
  return out;
}

function isParquet(data: Uint8Array): boolean {
  const magic = [0x50, 0x41, 0x52, 0x31]; // "PAR1" at both ends
  return data.length >= 8 && magic.every((b, i) => data[i] === b && data[data.length - 4 + i] === b);
}

/**
 * An Azure or GCS report in Parquet as CSV-like records (header first): the columns carry the
 * CSV names, so one column map serves both. Timestamps become ISO text, numbers and booleans text.
 */
async function parquetRecords(data: Uint8Array): Promise<string[][]> {
  const buffer = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  const rows = (await parquetReadObjects({ file: buffer, compressors })) as Record<string, unknown>[];
  const header = rows.length ? Object.keys(rows[0]!) : [];
  const text = (v: unknown): string =>
    v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : String(v);
  return [header, ...rows.map((r) => header.map((c) => text(r[c])))];
}

/** RFC 4180 CSV: quoted fields with doubled quotes, CRLF or LF line ends. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      record.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}
