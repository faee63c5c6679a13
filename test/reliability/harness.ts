import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Snapshot } from '../../lib/delta/snapshot.js';
import { LOG_DIR, parseLogPath } from '../../lib/delta/log-path.js';
import { scanTable } from '../../lib/ops/scan.js';
import { openStore, type ObjectStore } from '../../lib/storage/index.js';
import { startAzurite } from '../harness/azurite.js';
import { startFakeGcs } from '../harness/fakegcs.js';
import { startMinio } from '../harness/minio.js';

/** The four backends every scenario can run on. */
export type BackendName = 'local' | 'minio' | 'azurite' | 'fake-gcs';

export interface Backend {
  name: BackendName;
  storageOptions: Record<string, string>;
  /** A fresh, empty table location. */
  newTableUri(label: string): string;
  stop(): Promise<void>;
}

/** Start a backend (a real test server for the clouds). */
export async function startBackend(name: BackendName): Promise<Backend> {
  if (name === 'local') {
    const base = mkdtempSync(path.join(os.tmpdir(), 'lk-rel-'));
    return {
      name,
      storageOptions: {},
      newTableUri: (label) => {
        const dir = mkdtempSync(path.join(base, `${label}-`));
        return pathToFileURL(dir).href;
      },
      stop: async () => {},
    };
  }
  const server =
    name === 'minio' ? await startMinio() : name === 'azurite' ? await startAzurite() : await startFakeGcs();
  return {
    name,
    storageOptions: server.storageOptions,
    newTableUri: (label) => server.uri(`${label}-${Math.random().toString(36).slice(2, 10)}`),
    stop: () => server.stop(),
  };
}

/** Backends from a comma-separated env value, else the default list. */
export function backendsFromEnv(variable: string, fallback: BackendName[]): BackendName[] {
  const v = process.env[variable];
  return v ? (v.split(',').map((s) => s.trim()) as BackendName[]) : fallback;
}

export function intFromEnv(variable: string, fallback: number): number {
  const v = process.env[variable];
  return v ? Number(v) : fallback;
}

const WORKER = path.resolve('test/reliability/workers/op.mjs');

export interface Ack {
  version?: number;
  writer?: number;
  seq?: number;
  op?: string;
  run?: number;
}

export interface WorkerRun {
  child: ChildProcess;
  /** Successes the worker reported so far (before it died, if it was killed). */
  acks: Ack[];
  /** Resolves (to Date.now()) when the worker has started and is about to do its work. */
  began: Promise<number>;
  /** Resolves (to Date.now()) at its first `ack` line. */
  firstAck: Promise<number>;
  /** Resolves when it exits: the exit code, the signal, its `done` counters (absent when killed). */
  exit: Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    done?: Record<string, unknown>;
    stderr: string;
  }>;
}

/** Run `test/reliability/workers/op.mjs` (against dist/) as a separate process. */
export function runWorker(
  op: 'append' | 'optimize' | 'vacuum' | 'checkpoint',
  uri: string,
  storageOptions: Record<string, string>,
  env: { writer?: number; commits?: number; stopFile?: string } = {},
): WorkerRun {
  const child = spawn(process.execPath, [WORKER, op, uri], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      RELIABILITY_STORAGE_OPTIONS: JSON.stringify(storageOptions),
      RELIABILITY_WRITER: String(env.writer ?? 0),
      RELIABILITY_COMMITS: String(env.commits ?? 10),
      ...(env.stopFile ? { RELIABILITY_STOP: env.stopFile } : {}),
    },
  });
  const acks: Ack[] = [];
  let buffer = '';
  let stderr = '';
  let done: Record<string, unknown> | undefined;
  let markBegan: (t: number) => void = () => undefined;
  const began = new Promise<number>((resolve) => (markBegan = resolve));
  let markAcked: (t: number) => void = () => undefined;
  const firstAck = new Promise<number>((resolve) => (markAcked = resolve));
  child.stdout!.on('data', (c: Buffer) => {
    buffer += c.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line === 'begin') markBegan(Date.now());
      else if (line.startsWith('ack ')) {
        acks.push(JSON.parse(line.slice(4)) as Ack);
        markAcked(Date.now());
      } else if (line.startsWith('done ')) done = JSON.parse(line.slice(5)) as Record<string, unknown>;
    }
  });
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exit = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    done?: Record<string, unknown>;
    stderr: string;
  }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal, done, stderr })));
  return { child, acks, began, firstAck, exit };
}

export async function openTable(uri: string, storageOptions: Record<string, string>): Promise<ObjectStore> {
  return openStore(uri, storageOptions);
}

export interface TableCheck {
  version: number;
  rows: number;
  /** Every (writer, seq) batch found in the table, with its row count. */
  batches: Map<string, number>;
  versionsLoaded: number;
  activeFiles: number;
}

/**
 * The invariants every scenario ends with: every version 0..latest loads, every active file of the
 * latest version exists, and the rows are read back (grouped by the batch that wrote them).
 * Throws, naming the version or file, when one does not hold.
 */
export async function checkTable(
  store: ObjectStore,
  options: {
    /** Versions below this were checked already (a caller checking after every step): not reloaded. */
    fromVersion?: number;
  } = {},
): Promise<TableCheck> {
  const latest = await Snapshot.load(store);
  // Versions still described by a commit file (cleanup may have expired older ones: none here).
  const commits = new Set<number>();
  for await (const m of store.list(`${LOG_DIR}/`)) {
    const f = parseLogPath(m.path);
    if (f?.kind === 'commit') commits.add(f.version);
  }
  let versionsLoaded = 0;
  for (let v = 0; v <= latest.version; v++) {
    if (!commits.has(v)) throw new Error(`version ${v} has no commit file (latest is ${latest.version})`);
    if (v >= (options.fromVersion ?? 0)) await Snapshot.load(store, { version: v });
    versionsLoaded++;
  }
  let activeFiles = 0;
  for (const add of latest.activeFilesIterator()) {
    activeFiles++;
    await store.head(decodeURIComponent(add.path)).catch((err: unknown) => {
      throw new Error(`active file ${add.path} of version ${latest.version} is missing: ${String(err)}`);
    });
  }
  const batches = new Map<string, number>();
  let rows = 0;
  const scan = await scanTable(store);
  for await (const b of scan) {
    const w = b.getChild('writer')!;
    const s = b.getChild('seq')!;
    for (let i = 0; i < b.numRows; i++) {
      const key = `${String(w.get(i))}/${String(s.get(i))}`;
      batches.set(key, (batches.get(key) ?? 0) + 1);
      rows++;
    }
  }
  return { version: latest.version, rows, batches, versionsLoaded, activeFiles };
}

/** One line of the README table. */
export interface ScenarioResult {
  scenario: string;
  backend: string;
  runs: number;
  faultsInjected: string;
  commitsAcknowledged: number;
  commitsFound: number;
  rowsLost: number;
  extra?: Record<string, unknown>;
  command: string;
}

/** Print a result and keep it under $RELIABILITY_OUT (default: tmp) for the README table. */
export function record(result: ScenarioResult): void {
  const dir = process.env.RELIABILITY_OUT ?? path.join(os.tmpdir(), 'lakehouse-reliability');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${result.scenario}-${result.backend}.json`.replace(/[^\w.-]+/g, '_'));
  writeFileSync(file, JSON.stringify(result, null, 2));
  console.log(`reliability ${JSON.stringify(result)}`);
}

/** A deterministic PRNG (mulberry32), for seeded schedules. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
