import { fileURLToPath } from 'node:url';
import { createTable } from '../../lib/ops/create.js';
import { peerBatch, peerRead, type PeerOutcome, type PeerRequest } from '../harness/peers.js';
import { APPEND_SCHEMA, ROWS_PER_APPEND } from './concurrent.js';
import { checkTable, openTable, record, runWorker, startBackend, type BackendName } from './harness.js';

export interface MixedOptions {
  backend: Extract<BackendName, 'local' | 'minio'>;
  /** Our writer processes (test/reliability/workers/op.mjs) and delta-rs writer processes. */
  ourWriters: number;
  peerWriters: number;
  commitsPerWriter: number;
  command: string;
}

export interface MixedResult {
  ourAcks: number;
  peerAcks: number;
  peerFailures: string[];
  /** Batches (writer/seq → rows) as our reader and delta-rs's reader see the latest version. */
  oursSees: number;
  peerSees: number;
  rowsOurs: number;
  rowsPeer: number;
  /** Acknowledged batches either reader misses or holds twice. */
  missingInOurs: string[];
  missingInPeer: string[];
  /** Batches the two readers disagree on. */
  disagreements: number;
  versionsLoaded: number;
  latest: number;
  peerVersion: number;
  ourConflicts: number;
}

/** delta-rs's schema for the table (as createTable makes it from APPEND_SCHEMA). */
const PEER_SCHEMA = [
  { name: 'id', type: 'long' },
  { name: 'writer', type: 'integer' },
  { name: 'seq', type: 'integer' },
];
/** delta-rs writer ids start here (ours are 1..ourWriters). */
const PEER_WRITER_BASE = 1000;

/**
 * Scenario 1b: our writer processes and delta-rs writer processes append to the same table at
 * the same time (local disk, or MinIO with put-if-absent on both sides: delta-rs's
 * `conditional_put=etag`). Afterwards our reader and delta-rs's reader each see every
 * acknowledged append exactly once, and the same rows; every version loads.
 */
export async function runMixedWriters(o: MixedOptions): Promise<MixedResult> {
  const backend = await startBackend(o.backend);
  try {
    const uri = backend.newTableUri('mixed');
    const store = await openTable(uri, backend.storageOptions);
    await createTable(store, { schema: APPEND_SCHEMA });
    const peerTable = o.backend === 'local' ? fileURLToPath(uri) : uri;
    const peerOptions =
      o.backend === 'local'
        ? {}
        : { storage_options: { ...backend.storageOptions, conditional_put: 'etag' } };

    const ours = Array.from({ length: o.ourWriters }, (_, i) =>
      runWorker('append', uri, backend.storageOptions, { writer: i + 1, commits: o.commitsPerWriter }),
    );
    const peers = Array.from({ length: o.peerWriters }, (_, k) => {
      const writer = PEER_WRITER_BASE + k;
      const requests: PeerRequest[] = Array.from({ length: o.commitsPerWriter }, (_, seq) => ({
        op: 'write',
        table: peerTable,
        ...peerOptions,
        schema: PEER_SCHEMA,
        rows: Array.from({ length: ROWS_PER_APPEND }, (_, i) => ({
          id: writer * 1_000_000 + seq * ROWS_PER_APPEND + i,
          writer,
          seq,
        })),
      }));
      return peerBatch('delta-rs', requests, { timeoutMs: 1_800_000 }).then((outcomes) => ({
        writer,
        outcomes,
      }));
    });
    const ourExits = await Promise.all(ours.map((w) => w.exit));
    for (const [i, e] of ourExits.entries())
      if (e.code !== 0) throw new Error(`our writer ${i + 1} exited with ${e.code}: ${e.stderr}`);
    const peerRuns = await Promise.all(peers);

    const acked: string[] = ours.flatMap((w) => w.acks.map((a) => `${a.writer}/${a.seq}`));
    const ourAcks = acked.length;
    const peerFailures: string[] = [];
    for (const { writer, outcomes } of peerRuns) {
      outcomes.forEach((r: PeerOutcome, seq) => {
        if (r.ok) acked.push(`${writer}/${seq}`);
        else peerFailures.push(`${writer}/${seq}: ${r.error.slice(0, 300)}`);
      });
    }

    const check = await checkTable(store);
    const seen = await peerRead('delta-rs', peerTable, { ...peerOptions, columns: ['writer', 'seq'] });
    const peerBatches = new Map<string, number>();
    for (const row of seen.rows) {
      const { writer, seq } = JSON.parse(row) as { writer: number; seq: number };
      const key = `${writer}/${seq}`;
      peerBatches.set(key, (peerBatches.get(key) ?? 0) + 1);
    }
    const keys = new Set([...check.batches.keys(), ...peerBatches.keys()]);
    const result: MixedResult = {
      ourAcks,
      peerAcks: acked.length - ourAcks,
      peerFailures,
      oursSees: check.batches.size,
      peerSees: peerBatches.size,
      rowsOurs: check.rows,
      rowsPeer: seen.numRows,
      missingInOurs: acked.filter((k) => check.batches.get(k) !== ROWS_PER_APPEND),
      missingInPeer: acked.filter((k) => peerBatches.get(k) !== ROWS_PER_APPEND),
      disagreements: [...keys].filter((k) => check.batches.get(k) !== peerBatches.get(k)).length,
      versionsLoaded: check.versionsLoaded,
      latest: check.version,
      peerVersion: seen.version,
      ourConflicts: ourExits.reduce((s, e) => s + Number(e.done?.conflicts ?? 0), 0),
    };
    record({
      scenario: `mixed writers: ${o.ourWriters} ours + ${o.peerWriters} delta-rs x ${o.commitsPerWriter} appends`,
      backend: o.backend,
      runs: 1,
      faultsInjected: `${result.ourConflicts} lost commit races (ours)`,
      commitsAcknowledged: acked.length,
      commitsFound: check.batches.size,
      rowsLost: acked.reduce(
        (s, k) =>
          s + Math.max(0, ROWS_PER_APPEND - Math.min(check.batches.get(k) ?? 0, peerBatches.get(k) ?? 0)),
        0,
      ),
      extra: { ...result },
      command: o.command,
    });
    return result;
  } finally {
    await backend.stop();
  }
}
