/**
 * Ask the reference engines, delta-rs (`deltalake`) and Spark with Delta (`pyspark` +
 * `delta-spark`), to read and write Delta tables, so tests can compare our library with them.
 *
 * Each call runs `test/peers/peer.py` once in the Python venv that `scripts/test-env.sh`
 * installed (found through `$CACHE/peers.json`): a batch of requests in, one result per request
 * out, in order. Spark starts a JVM per batch (10 s or more on two busy cores), so put all of a
 * test's Spark requests in one {@link peerBatch}. A request that fails yields `{ ok: false }`
 * without stopping the rest of its batch; the convenience functions (`peerRead`, …) throw instead.
 *
 * ## The canonical row encoding
 *
 * `read` returns each row as one JSON string, keys in the table's schema order (or the order of
 * `columns`), no spaces, as `JSON.stringify` writes it; the list is sorted by plain string order
 * ({@link canonicalSort}), so two engines agree when the arrays are equal. Values by Delta type:
 *
 * | type | encoding |
 * |---|---|
 * | byte, short, integer, long | number; a string of the decimal digits when \|v\| > 2^53 − 1 |
 * | float, double | number as `JSON.stringify` writes it (float widened to double first); `"NaN"`, `"Infinity"`, `"-Infinity"` |
 * | decimal(p, s) | string with exactly `s` fraction digits: `"12.30"`, `"-0.05"`, `"7"` when s = 0 |
 * | string | string |
 * | binary | base64 string (standard alphabet, padded) |
 * | boolean | `true` / `false` |
 * | date | `"YYYY-MM-DD"` |
 * | timestamp | `"YYYY-MM-DDTHH:MM:SS.ffffffZ"`, UTC, always 6 fraction digits |
 * | timestamp_ntz | the same without the `Z` |
 * | struct | object, fields in schema order |
 * | array | array |
 * | map | array of `[key, value]` pairs in stored order |
 * | null | `null` |
 *
 * Numbers are written as `JSON.stringify` writes them (`1e+21`, `0.1`, `-0` as `0`); a year has at
 * least four digits and a minus sign before year 0 (as `lib/data/arrow-values.ts` writes them).
 * Rows given to `write` use the same encoding (timestamps may omit or shorten the fraction, and may
 * carry an offset such as `+02:00`).
 *
 * @example
 * ```ts
 * const [written] = await peerBatch('delta-rs', [{ op: 'write', table: dir, schema, rows }]);
 * const spark = await peerRead('spark', dir);
 * expect(spark.rows).toEqual(canonicalSort(ourRows));
 * ```
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir, requireTool } from './env.js';

/** The two reference engines. */
export type PeerEngine = 'delta-rs' | 'spark';

/** Fields every request has. */
export interface PeerTableRequest {
  /** A local path, or a URI delta-rs understands (`s3://…`; Spark takes local paths only). */
  table: string;
  /** delta-rs storage options, e.g. `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, `AWS_ACCESS_KEY_ID`. Spark rejects them. */
  storage_options?: Record<string, string>;
}

/** A Delta schema: its JSON text, the parsed `{"type":"struct","fields":[…]}`, or just the fields. */
export type PeerSchema = string | { type: 'struct'; fields: PeerField[] } | PeerField[];

/** A field of a Delta schema, as in the protocol's schema serialization. */
export interface PeerField {
  name: string;
  /** `'long'`, `'decimal(10,2)'`, `'timestamp_ntz'`, … or a struct/array/map type object. */
  type: string | Record<string, unknown>;
  /** Default true. */
  nullable?: boolean;
  metadata?: Record<string, unknown>;
}

/** Every request the peers serve, by `op`. */
export interface PeerRequests {
  /** The table's rows in the canonical encoding, at the latest version, a `version`, or a `timestamp`. */
  read: PeerTableRequest & { version?: number; timestamp?: string; columns?: string[] };
  /** The active data files, relative to the table root, percent-decoded (the real file names). */
  files: PeerTableRequest & { version?: number };
  /** The latest version. */
  version: PeerTableRequest;
  /**
   * Write rows (canonical encoding; needs `schema`), a JSON-lines file of such rows (needs
   * `schema`), or a Parquet file (`schema` optional, cast to it when given).
   */
  write: PeerTableRequest & {
    rows?: Record<string, unknown>[];
    input?: { parquet: string } | { jsonl: string };
    schema?: PeerSchema;
    /** Default `'append'`. */
    mode?: 'append' | 'overwrite';
    partitionBy?: string[];
    /** Table properties (delta-rs `configuration`; Spark writer options), e.g. `delta.appendOnly`. */
    properties?: Record<string, string>;
    /** With `mode: 'overwrite'`: replace only the rows matching this SQL predicate. */
    replaceWhere?: string;
  };
  /** The commit history, newest first. */
  history: PeerTableRequest;
  /** Compact small files (delta-rs `optimize.compact()`, Spark `OPTIMIZE`). */
  optimize: PeerTableRequest;
  /** Delete unreferenced files older than `retentionHours` (default: the table's). */
  vacuum: PeerTableRequest & {
    retentionHours?: number;
    /** Default false: allow a retention below the table's minimum (e.g. 0 in tests). */
    enforceRetention?: boolean;
  };
  /** Write a checkpoint at the latest version. */
  checkpoint: PeerTableRequest;
  /** Delete the rows matching a SQL predicate (all rows without one). */
  delete: PeerTableRequest & { predicate?: string };
}

/** One commit of `history`. Engine-specific fields (operationMetrics, engineInfo, …) are kept. */
export interface PeerHistoryEntry {
  version: number;
  /** Commit time, milliseconds since the epoch. */
  timestamp: number;
  /** `WRITE`, `DELETE`, `OPTIMIZE`, … */
  operation: string;
  operationParameters: Record<string, unknown>;
  [field: string]: unknown;
}

/** What each request returns on success, by `op`. */
export interface PeerResults {
  read: {
    /** Canonical JSON rows, sorted. */
    rows: string[];
    numRows: number;
    /** The version read. */
    version: number;
    /** The schema as the engine reports it (delta-rs: Delta schema JSON; Spark: Spark's StructType JSON). */
    schema: string;
  };
  files: { files: string[]; version: number };
  version: { version: number };
  write: { version: number };
  history: { entries: PeerHistoryEntry[] };
  optimize: { version: number; metrics: unknown };
  vacuum: { version: number; deleted?: string[] };
  checkpoint: { version: number };
  delete: { version: number; metrics?: unknown };
}

export type PeerOp = keyof PeerRequests;

/** A request: `{ op, table, …options of that op }`. */
export type PeerRequest = { [O in PeerOp]: { op: O } & PeerRequests[O] }[PeerOp];

/** The outcome of one request. */
export type PeerOutcome<O extends PeerOp = PeerOp> =
  ({ ok: true } & PeerResults[O]) | { ok: false; error: string };

/** Where scripts/test-env.sh installed the peers (`$CACHE/peers.json`). */
export interface PeersConfig {
  /** The venv's python, with deltalake, pyspark, delta-spark, pyarrow, pandas. */
  python: string;
  /** The Delta jars Spark loads (offline) through `spark.jars`. */
  jars: string[];
  versions: { deltalake: string; pyspark: string; 'delta-spark': string; deltaJar: string };
  /** The IaC linters' venv. */
  iac: { python: string; cfnLint: string; checkov: string };
}

export interface PeerBatchOptions {
  /** Kill the peer (and its JVM) after this long. Default: 600 000 ms for Spark, 120 000 for delta-rs. */
  timeoutMs?: number;
}

const peerScript = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../peers/peer.py');

/** The peers' installation, read from `$CACHE/peers.json`; fails with what to run when it is missing. */
export function peersConfig(): PeersConfig {
  const file = requireTool(
    'the Python peers (deltalake, pyspark, delta-spark)',
    path.join(cacheDir(), 'peers.json'),
  );
  const config = JSON.parse(readFileSync(file, 'utf8')) as PeersConfig;
  requireTool('the peers venv python', config.python);
  for (const jar of config.jars) requireTool('a Delta jar for Spark', jar);
  return config;
}

/** Sort canonical row strings the way the peers do (plain UTF-16 code unit order). */
export function canonicalSort(rows: readonly string[]): string[] {
  return [...rows].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Run a batch of requests with one engine; resolves to one outcome per request, in order.
 * Rejects (with the peer's stderr tail) only when the peer itself fails: missing environment,
 * timeout, crash, or output that is not the expected JSON.
 */
export async function peerBatch<const R extends readonly PeerRequest[]>(
  engine: PeerEngine,
  requests: R,
  options: PeerBatchOptions = {},
): Promise<{ -readonly [K in keyof R]: PeerOutcome<R[K]['op']> }> {
  const config = peersConfig();
  if (!existsSync(peerScript)) throw new Error(`peers: ${peerScript} is missing`);
  const timeoutMs = options.timeoutMs ?? (engine === 'spark' ? 600_000 : 120_000);
  const child = spawn(
    config.python,
    [peerScript, '--engine', engine, '--peers-json', path.join(cacheDir(), 'peers.json')],
    {
      // Own process group: a timeout kills the JVM that pyspark started, too.
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, SPARK_LOCAL_IP: '127.0.0.1', PYSPARK_PYTHON: config.python },
    },
  );
  const stdout: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-20_000);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid);
  }, timeoutMs);
  const killOnExit = (): void => killGroup(child.pid);
  process.once('exit', killOnExit);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  // A peer that dies before reading its input is reported by its exit status, not by EPIPE.
  child.stdin.on('error', () => undefined);
  child.stdin.end(JSON.stringify(requests));
  try {
    const { code, signal } = await exit;
    const tail = stderr.trim().split('\n').slice(-30).join('\n');
    if (timedOut) throw new Error(`peer ${engine}: no answer within ${timeoutMs} ms; stderr:\n${tail}`);
    if (code !== 0) throw new Error(`peer ${engine} exited with ${code ?? signal}; stderr:\n${tail}`);
    const text = Buffer.concat(stdout).toString('utf8');
    let results: unknown;
    try {
      results = JSON.parse(text);
    } catch {
      throw new Error(`peer ${engine}: stdout is not JSON: ${text.slice(0, 500)}; stderr:\n${tail}`);
    }
    if (!Array.isArray(results) || results.length !== requests.length) {
      throw new Error(`peer ${engine}: expected ${requests.length} results, got ${text.slice(0, 500)}`);
    }
    return results as { -readonly [K in keyof R]: PeerOutcome<R[K]['op']> };
  } finally {
    clearTimeout(timer);
    process.removeListener('exit', killOnExit);
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Run one request; throws with the engine's message when it fails. */
export async function peerRequest<O extends PeerOp>(
  engine: PeerEngine,
  request: { op: O } & PeerRequests[O],
  options?: PeerBatchOptions,
): Promise<PeerResults[O]> {
  const [outcome] = (await peerBatch(engine, [request as PeerRequest], options)) as [PeerOutcome<O>];
  return unwrap(engine, request.op, request.table, outcome);
}

/** The result of a successful outcome; throws `peer <engine> <op> <table>: <error>` for a failed one. */
export function unwrap<O extends PeerOp>(
  engine: PeerEngine,
  op: O,
  table: string,
  outcome: PeerOutcome<O>,
): PeerResults[O] {
  if (!outcome.ok) throw new Error(`peer ${engine} ${op} ${table}: ${outcome.error}`);
  const { ok: _ok, ...result } = outcome;
  return result as unknown as PeerResults[O];
}

/** The table's canonical rows (see the module doc), its version and schema. */
export function peerRead(
  engine: PeerEngine,
  table: string,
  options: Omit<PeerRequests['read'], 'table'> = {},
): Promise<PeerResults['read']> {
  return peerRequest(engine, { op: 'read', table, ...options });
}

/** The active files, relative to the table root and percent-decoded, sorted. */
export function peerFiles(
  engine: PeerEngine,
  table: string,
  options: Omit<PeerRequests['files'], 'table'> = {},
): Promise<PeerResults['files']> {
  return peerRequest(engine, { op: 'files', table, ...options });
}

/** The latest version of the table. */
export async function peerVersion(
  engine: PeerEngine,
  table: string,
  options: Omit<PeerRequests['version'], 'table'> = {},
): Promise<number> {
  return (await peerRequest(engine, { op: 'version', table, ...options })).version;
}

/** Write rows (or a file) to the table; resolves to the version committed. */
export async function peerWrite(
  engine: PeerEngine,
  table: string,
  options: Omit<PeerRequests['write'], 'table'>,
): Promise<number> {
  return (await peerRequest(engine, { op: 'write', table, ...options })).version;
}

/** The commit history, newest first. */
export async function peerHistory(
  engine: PeerEngine,
  table: string,
  options: Omit<PeerRequests['history'], 'table'> = {},
): Promise<PeerHistoryEntry[]> {
  return (await peerRequest(engine, { op: 'history', table, ...options })).entries;
}

/** Compact the table's small files; resolves to the new version. */
export async function peerOptimize(
  engine: PeerEngine,
  table: string,
  options: Omit<PeerRequests['optimize'], 'table'> = {},
): Promise<number> {
  return (await peerRequest(engine, { op: 'optimize', table, ...options })).version;
}

/** Vacuum the table (retention checks off unless `enforceRetention`). */
export function peerVacuum(
  engine: PeerEngine,
  table: string,
  options: Omit<PeerRequests['vacuum'], 'table'> = {},
): Promise<PeerResults['vacuum']> {
  return peerRequest(engine, { op: 'vacuum', table, ...options });
}

/** Write a checkpoint at the latest version; resolves to that version. */
export async function peerCheckpoint(
  engine: PeerEngine,
  table: string,
  options: Omit<PeerRequests['checkpoint'], 'table'> = {},
): Promise<number> {
  return (await peerRequest(engine, { op: 'checkpoint', table, ...options })).version;
}

/** Delete the rows matching `predicate` (all rows without one); resolves to the new version. */
export async function peerDelete(
  engine: PeerEngine,
  table: string,
  options: Omit<PeerRequests['delete'], 'table'> = {},
): Promise<number> {
  return (await peerRequest(engine, { op: 'delete', table, ...options })).version;
}
