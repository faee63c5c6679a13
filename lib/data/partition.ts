/**
 * Partition values and Hive-style partition paths, as the Delta protocol defines them.
 *
 * - `add.partitionValues` holds strings in the protocol's "partition value serialization": numbers
 *   as decimal text, dates `YYYY-MM-DD`, timestamps in UTC as ISO 8601 `YYYY-MM-DDTHH:MM:SS.ffffffZ`
 *   (the protocol's unambiguous form), timestamp_ntz `YYYY-MM-DD HH:MM:SS.ffffff`, booleans
 *   `true`/`false`, and `null` for a null (an empty string is a null too, as Spark does).
 * - A file's folder is `col=value/...` in partition-column order; each value is escaped like
 *   Hive's `escapePathName` (the characters below become `%XX`), and a null is
 *   `__HIVE_DEFAULT_PARTITION__`.
 * - `add.path` is a URI reference, so the path written into the log is the folder path encoded
 *   once more (`%` becomes `%25`, space `%20`); `dataFilePathFromAdd` undoes exactly that.
 */
import type { DeltaDataType } from '../delta/arrow-schema.js';
import { parseDecimal } from '../delta/arrow-schema.js';
import { LakehouseError } from '../errors.js';
import { formatDate, formatDecimal, formatTimestampMicros, type Scalar } from './arrow-values.js';
import { parseDateText, parseDecimalText, parseTimestampText } from './arrow-build.js';

export const HIVE_DEFAULT_PARTITION = '__HIVE_DEFAULT_PARTITION__';

/** Characters Hive (and so Spark and delta-rs) escapes in a partition path segment. */
function needsEscape(code: number): boolean {
  return code < 0x20 || code === 0x7f || '"#%\'*/:=?\\{[]^'.includes(String.fromCharCode(code));
}

/** Escape one partition value (or column name) for a path segment. */
export function escapePartitionText(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    out += code < 0x80 && needsEscape(code) ? `%${code.toString(16).toUpperCase().padStart(2, '0')}` : ch;
  }
  return out;
}

/** Undo `escapePartitionText`. */
export function unescapePartitionText(text: string): string {
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** `a=1/b=__HIVE_DEFAULT_PARTITION__` for the given columns and serialized values. */
export function partitionFolder(columns: readonly string[], values: Record<string, string | null>): string {
  return columns
    .map((c) => {
      const v = values[c];
      return `${escapePartitionText(c)}=${v === null || v === undefined ? HIVE_DEFAULT_PARTITION : escapePartitionText(v)}`;
    })
    .join('/');
}

/**
 * Encode a relative object path as the URI reference `add.path` holds: everything except
 * unreserved characters, `/` and a few safe sub-delimiters is percent-encoded (so a `%` from
 * Hive escaping becomes `%25`).
 */
export function encodeAddPath(relative: string): string {
  return relative
    .split('/')
    .map((seg) => encodeURIComponent(seg).replace(/%3D/g, '=').replace(/%2B/g, '+').replace(/%2C/g, ','))
    .join('/');
}

/**
 * The object path (relative to the table root) of an `add.path`, or undefined when the add points
 * outside the table (an absolute URI under another root).
 */
export function dataFilePathFromAdd(addPath: string, tableRoot: string): string | undefined {
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:/.exec(addPath);
  if (!scheme) return safeDecode(addPath);
  const root = tableRoot.endsWith('/') ? tableRoot : `${tableRoot}/`;
  const decoded = safeDecode(addPath);
  const decodedRoot = safeDecode(root);
  for (const [p, r] of [
    [addPath, root],
    [decoded, decodedRoot],
    [decoded.replace(/^file:\/(?!\/)/, 'file:///'), decodedRoot],
  ] as const) {
    if (p.startsWith(r)) return safeDecode(p.slice(r.length));
    if (p.startsWith(decodedRoot)) return p.slice(decodedRoot.length);
  }
  return undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Serialize one partition value (from `scalarAt`) the way the protocol stores it. */
export function serializePartitionValue(type: DeltaDataType, v: Scalar): string | null {
  if (v === null) return null;
  if (typeof type !== 'string') {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `partition column of type ${JSON.stringify(type)}: only primitive types can partition a table`,
    );
  }
  const dec = parseDecimal(type);
  if (dec) return formatDecimal(v as bigint, dec[1]);
  switch (type) {
    case 'date':
      return formatDate(v as number);
    case 'timestamp':
      // ISO 8601 in UTC: unambiguous whatever the reader's session time zone.
      return `${formatTimestampMicros(v as bigint)}Z`;
    case 'timestamp_ntz':
      return formatTimestampMicros(v as bigint).replace('T', ' ');
    case 'binary':
      return Buffer.from(v as Uint8Array).toString('latin1');
    case 'string':
      return (v as string) === '' ? null : (v as string);
    default:
      return String(v);
  }
}

/**
 * Parse a serialized partition value back to the value `buildData` takes for the column's Arrow
 * type (strings stay strings, numbers become numbers or bigints, dates days, timestamps micros).
 */
export function parsePartitionValue(
  type: DeltaDataType,
  text: string | null | undefined,
  column: string,
): unknown {
  if (text === null || text === undefined) return null;
  if (typeof type !== 'string')
    throw new LakehouseError('CORRUPT_LOG', `partition column ${column} has a non-primitive type`);
  const bad = (): never => {
    throw new LakehouseError(
      'CORRUPT_LOG',
      `partition column ${column} (${type}): cannot parse partition value "${text}"`,
    );
  };
  if (type === 'string') return text;
  if (text === '') return null;
  const dec = parseDecimal(type);
  if (dec) return parseDecimalText(text, dec[1]) === undefined ? bad() : text.trim();
  switch (type) {
    case 'byte':
    case 'short':
    case 'integer':
    case 'long':
      return /^\s*[+-]?\d+\s*$/.test(text) ? BigInt(text.trim()) : bad();
    case 'float':
    case 'double': {
      const n = Number(text);
      return Number.isNaN(n) && text !== 'NaN' ? bad() : n;
    }
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : bad();
    case 'date':
      return parseDateText(text) ?? bad();
    case 'timestamp':
    case 'timestamp_ntz':
      return parseTimestampText(text) ?? bad();
    case 'binary':
      return Buffer.from(text, 'latin1');
  }
  return bad();
}

/** `part-00003-<uuid>.c000.snappy.parquet` (no codec part when uncompressed, as Spark names them). */
export function dataFileName(index: number, uuid: string, codec: string): string {
  return `part-${String(index).padStart(5, '0')}-${uuid}.c000${codec ? `.${codec}` : ''}.parquet`;
}
