import { LakehouseError } from '../errors.js';

/**
 * The actions of the Delta protocol ("Actions" in PROTOCOL.md), as they appear in commit JSON.
 * An `Action` is one line of a commit: an object with exactly one key naming the action, e.g.
 * `{ add: { path, ... } }`. Unknown fields are kept (the protocol says readers must ignore, and
 * writers should preserve, fields they do not understand).
 */

/** Where the rows a deletion vector invalidates are stored ("Deletion Vector Descriptor Schema"). */
export interface DeletionVectorDescriptor {
  /** `u`: relative path derived from a UUID; `i`: inline (Z85); `p`: absolute path. */
  storageType: 'u' | 'i' | 'p';
  pathOrInlineDv: string;
  /** Byte offset in the DV file; absent for inline DVs, read as 0 when absent otherwise. */
  offset?: number | null;
  /** Size of the serialized DV (before Z85 encoding when inline). */
  sizeInBytes: number;
  /** Number of rows the DV removes. */
  cardinality: number;
  maxRowIndex?: number | null;
}

export type PartitionValues = Record<string, string | null>;

export interface AddAction {
  /** RFC 2396 URI, relative to the table root or absolute; decode before use (see `dataFilePath`). */
  path: string;
  partitionValues: PartitionValues;
  size: number;
  modificationTime: number;
  dataChange: boolean;
  /** Per-file statistics as a JSON string (`numRecords`, `minValues`, `maxValues`, `nullCount`, `tightBounds`). */
  stats?: string | null;
  tags?: Record<string, string | null> | null;
  deletionVector?: DeletionVectorDescriptor | null;
  baseRowId?: number | null;
  defaultRowCommitVersion?: number | null;
  clusteringProvider?: string | null;
}

export interface RemoveAction {
  path: string;
  deletionTimestamp?: number | null;
  dataChange: boolean;
  extendedFileMetadata?: boolean | null;
  partitionValues?: PartitionValues | null;
  size?: number | null;
  stats?: string | null;
  tags?: Record<string, string | null> | null;
  deletionVector?: DeletionVectorDescriptor | null;
  baseRowId?: number | null;
  defaultRowCommitVersion?: number | null;
}

export interface MetadataAction {
  id: string;
  name?: string | null;
  description?: string | null;
  format: { provider: string; options?: Record<string, string> | null };
  /** The table schema as Delta schema JSON (see `schema.ts`). */
  schemaString: string;
  partitionColumns: string[];
  createdTime?: number | null;
  configuration: Record<string, string>;
}

export interface ProtocolAction {
  minReaderVersion: number;
  minWriterVersion: number;
  /** Present exactly when minReaderVersion is 3. */
  readerFeatures?: string[] | null;
  /** Present exactly when minWriterVersion is 7. */
  writerFeatures?: string[] | null;
}

/** Commit provenance. Any JSON is allowed; these are the fields this kit writes and reads. */
export interface CommitInfo {
  timestamp?: number;
  /** Commit time under the inCommitTimestamp feature (ms since the epoch). */
  inCommitTimestamp?: number;
  operation?: string;
  operationParameters?: Record<string, unknown>;
  operationMetrics?: Record<string, unknown>;
  engineInfo?: string;
  isBlindAppend?: boolean;
  readVersion?: number;
  isolationLevel?: string;
  txnId?: string;
  [key: string]: unknown;
}

export interface TxnAction {
  appId: string;
  version: number;
  lastUpdated?: number | null;
}

export interface CdcAction {
  path: string;
  partitionValues: PartitionValues;
  size: number;
  dataChange: boolean;
  tags?: Record<string, string | null> | null;
}

export interface DomainMetadataAction {
  domain: string;
  configuration: string;
  removed: boolean;
}

export interface CheckpointMetadataAction {
  version: number;
  tags?: Record<string, string> | null;
}

export interface SidecarAction {
  /** File name (URI-encoded) under `_delta_log/_sidecars/`. */
  path: string;
  sizeInBytes: number;
  modificationTime: number;
  tags?: Record<string, string> | null;
}

export type Action =
  | { add: AddAction }
  | { remove: RemoveAction }
  | { metaData: MetadataAction }
  | { protocol: ProtocolAction }
  | { commitInfo: CommitInfo }
  | { txn: TxnAction }
  | { cdc: CdcAction }
  | { domainMetadata: DomainMetadataAction }
  | { checkpointMetadata: CheckpointMetadataAction }
  | { sidecar: SidecarAction };

export type ActionName =
  | 'add'
  | 'remove'
  | 'metaData'
  | 'protocol'
  | 'commitInfo'
  | 'txn'
  | 'cdc'
  | 'domainMetadata'
  | 'checkpointMetadata'
  | 'sidecar';

export const ACTION_NAMES: readonly ActionName[] = [
  'add',
  'remove',
  'metaData',
  'protocol',
  'commitInfo',
  'txn',
  'cdc',
  'domainMetadata',
  'checkpointMetadata',
  'sidecar',
];
const KNOWN = new Set<string>(ACTION_NAMES);

/** The name of an action (`add`, `remove`, …). */
export function actionName(action: Action): ActionName {
  for (const k in action) if (KNOWN.has(k)) return k as ActionName;
  throw new LakehouseError('INTERNAL', 'delta: internal error: action without a known name');
}

/** A `CORRUPT_LOG` error in the kit's message format: `delta: <file> line <n>: <what>`. */
export function corruptLog(file: string, what: string, line?: number, cause?: unknown): LakehouseError {
  const where = line === undefined ? file : `${file} line ${line}`;
  return new LakehouseError('CORRUPT_LOG', `delta: ${where}: ${what}`, { cause });
}

export interface ParseOptions {
  /** Skip `commitInfo` lines without parsing them (log replay does not need them). Default false. */
  skipCommitInfo?: boolean;
}

/**
 * Parse the newline-delimited JSON of a commit (or a JSON checkpoint) into actions, in file order.
 * Blank lines are ignored; lines with an action this kit does not know are skipped, as the
 * protocol requires of readers. A line that is not JSON, or a known action missing a required
 * field, rejects with `CORRUPT_LOG` naming `file` and the line number.
 */
export function parseActions(text: string, file: string, options: ParseOptions = {}): Action[] {
  const out: Action[] = [];
  let start = 0;
  let lineNo = 0;
  const n = text.length;
  while (start < n) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    lineNo++;
    let line = text.slice(start, end);
    start = end + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') continue;
    if (options.skipCommitInfo && line.startsWith('{"commitInfo"')) continue;
    const action = parseActionLine(line, file, lineNo);
    if (action) out.push(action);
  }
  return out;
}

/** Parse one line; null when it holds an action unknown to this kit. */
export function parseActionLine(line: string, file: string, lineNo: number): Action | null {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch (err) {
    const hint = line.length > 60 ? `${line.slice(0, 60)}…` : line;
    throw corruptLog(file, `not valid JSON (${(err as Error).message}): ${hint}`, lineNo, err);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw corruptLog(file, 'expected a JSON object with one action', lineNo);
  }
  const rec = obj as Record<string, unknown>;
  let found: ActionName | undefined;
  for (const k in rec) {
    if (KNOWN.has(k) && rec[k] !== null && rec[k] !== undefined) {
      if (found) throw corruptLog(file, `one line holds two actions (${found} and ${k})`, lineNo);
      found = k as ActionName;
    }
  }
  if (!found) return null;
  const body = rec[found];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw corruptLog(file, `${found} must be a JSON object`, lineNo);
  }
  const problem = validateAction(found, body as Record<string, unknown>);
  if (problem) throw corruptLog(file, `${found}: ${problem}`, lineNo);
  return { [found]: body } as Action;
}

const EMPTY_SCHEMA = '{"type":"struct","fields":[]}';
const isStr = (v: unknown): v is string => typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The first missing or mistyped required field of an action, or null when it is valid. */
export function validateAction(name: ActionName, a: Record<string, unknown>): string | null {
  switch (name) {
    case 'add':
      if (!isStr(a.path)) return 'path is required (string)';
      if (!isObj(a.partitionValues)) return 'partitionValues is required (object)';
      if (!isNum(a.size)) return 'size is required (number)';
      if (a.modificationTime === undefined || a.modificationTime === null) a.modificationTime = 0;
      if (!isNum(a.modificationTime)) return 'modificationTime must be a number';
      if (typeof a.dataChange !== 'boolean') return 'dataChange is required (boolean)';
      return a.deletionVector ? validateDv(a.deletionVector) : null;
    case 'remove':
      if (!isStr(a.path)) return 'path is required (string)';
      if (a.dataChange === undefined || a.dataChange === null) a.dataChange = true;
      return a.deletionVector ? validateDv(a.deletionVector) : null;
    case 'metaData':
      if (!isStr(a.id)) return 'id is required (string)';
      // Spark reads a metaData without schemaString as an empty schema; so do we.
      if (a.schemaString === undefined || a.schemaString === null) a.schemaString = EMPTY_SCHEMA;
      if (!isStr(a.schemaString)) return 'schemaString must be a string';
      if (!Array.isArray(a.partitionColumns)) return 'partitionColumns is required (array)';
      if (a.configuration === undefined || a.configuration === null) a.configuration = {};
      if (!isObj(a.configuration)) return 'configuration must be an object';
      if (!isObj(a.format)) a.format = { provider: 'parquet', options: {} };
      return null;
    case 'protocol':
      if (!Number.isInteger(a.minReaderVersion)) return 'minReaderVersion is required (integer)';
      if (!Number.isInteger(a.minWriterVersion)) return 'minWriterVersion is required (integer)';
      return null;
    case 'txn':
      if (!isStr(a.appId)) return 'appId is required (string)';
      if (!isNum(a.version)) return 'version is required (number)';
      return null;
    case 'cdc':
      if (!isStr(a.path)) return 'path is required (string)';
      return null;
    case 'domainMetadata':
      if (!isStr(a.domain)) return 'domain is required (string)';
      if (!isStr(a.configuration)) return 'configuration is required (string)';
      if (a.removed === undefined || a.removed === null) a.removed = false;
      return null;
    case 'checkpointMetadata':
      if (!isNum(a.version)) return 'version is required (number)';
      return null;
    case 'sidecar':
      if (!isStr(a.path)) return 'path is required (string)';
      return null;
    case 'commitInfo':
      return null;
  }
}

function validateDv(dv: unknown): string | null {
  if (!isObj(dv)) return 'deletionVector must be an object';
  if (dv.storageType !== 'u' && dv.storageType !== 'i' && dv.storageType !== 'p') {
    return `deletionVector.storageType must be 'u', 'i' or 'p', got ${JSON.stringify(dv.storageType)}`;
  }
  if (!isStr(dv.pathOrInlineDv)) return 'deletionVector.pathOrInlineDv is required (string)';
  if (!isNum(dv.sizeInBytes)) return 'deletionVector.sizeInBytes is required (number)';
  return null;
}

/** Serialize actions as commit JSON: one action per line, each line ending in `\n`. */
export function serializeActions(actions: Iterable<Action>): Uint8Array {
  let text = '';
  for (const a of actions) text += `${JSON.stringify(a, dropUndefined)}\n`;
  return new TextEncoder().encode(text);
}

function dropUndefined(_key: string, value: unknown): unknown {
  return value === undefined ? undefined : value;
}

/** The unique id of a deletion vector (`<storageType><pathOrInlineDv>[@<offset>]`), or '' for none. */
export function dvUniqueId(dv: DeletionVectorDescriptor | null | undefined): string {
  if (!dv) return '';
  return dv.offset === undefined || dv.offset === null
    ? `${dv.storageType}${dv.pathOrInlineDv}`
    : `${dv.storageType}${dv.pathOrInlineDv}@${dv.offset}`;
}

/**
 * The canonical form of a file action's path, used to match adds and removes: percent-decoded,
 * `file:` scheme dropped, and made relative when it points inside the table root (`rootPath`,
 * an absolute local path or URI without trailing slash). Spark canonicalizes paths the same way.
 */
export function canonicalPath(path: string, rootPath?: string): string {
  // Fast path: a plain relative path (what writers almost always store) is its own canonical form.
  if (path.charCodeAt(0) !== 47 /* / */ && !path.includes('%') && !path.includes(':')) return path;
  let p = path;
  if (p.startsWith('file:')) p = `/${p.slice(5).replace(/^\/+/, '')}`;
  if (p.includes('%')) {
    try {
      p = decodeURIComponent(p);
    } catch {
      // Not valid percent-encoding: keep the literal path.
    }
  }
  if (rootPath) {
    const root = rootPrefix(rootPath);
    if (p.startsWith(root)) p = p.slice(root.length);
  }
  return p;
}

let lastRoot = '';
let lastPrefix = '';
/** `rootPath` as a `/`-terminated local path prefix (memoized: replay calls this per action). */
function rootPrefix(rootPath: string): string {
  if (rootPath === lastRoot) return lastPrefix;
  let root = rootPath.startsWith('file:') ? `/${rootPath.slice(5).replace(/^\/+/, '')}` : rootPath;
  if (!root.endsWith('/')) root += '/';
  lastRoot = rootPath;
  lastPrefix = root;
  return root;
}

/** The reconciliation key of a logical file: canonical path and deletion-vector id. */
export function fileKey(
  action: { path: string; deletionVector?: DeletionVectorDescriptor | null },
  rootPath?: string,
): string {
  const dv = dvUniqueId(action.deletionVector);
  const p = canonicalPath(action.path, rootPath);
  return dv ? `${p}\u0000${dv}` : p;
}

/**
 * The store path of a data file named by an `add`/`remove`/`cdc` action: the URI-decoded
 * relative path, or the absolute URI/path unchanged (except decoding) when the action names one.
 */
export function dataFilePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** A remove for a file being dropped now (deletionTimestamp = now), carrying what VACUUM and CDF need. */
export function removeFor(
  add: AddAction,
  options: { dataChange?: boolean; deletionTimestamp?: number } = {},
): RemoveAction {
  const remove: RemoveAction = {
    path: add.path,
    deletionTimestamp: options.deletionTimestamp ?? Date.now(),
    dataChange: options.dataChange ?? true,
    extendedFileMetadata: true,
    partitionValues: add.partitionValues,
    size: add.size,
  };
  if (add.stats) remove.stats = add.stats;
  if (add.tags) remove.tags = add.tags;
  if (add.deletionVector) remove.deletionVector = add.deletionVector;
  if (add.baseRowId !== undefined && add.baseRowId !== null) remove.baseRowId = add.baseRowId;
  if (add.defaultRowCommitVersion !== undefined && add.defaultRowCommitVersion !== null) {
    remove.defaultRowCommitVersion = add.defaultRowCommitVersion;
  }
  return remove;
}
