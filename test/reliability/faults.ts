import { batchFromRows } from '../../lib/data/arrow-build.js';
import { deltaSchemaToArrow } from '../../lib/delta/arrow-schema.js';
import { isLakehouseError } from '../../lib/errors.js';
import { checkpoint } from '../../lib/ops/checkpoint.js';
import { createTable, resolveSchema } from '../../lib/ops/create.js';
import { tableHistory } from '../../lib/ops/history.js';
import { optimize } from '../../lib/ops/optimize.js';
import { writeTable } from '../../lib/ops/write.js';
import { APPEND_SCHEMA, ROWS_PER_APPEND } from './concurrent.js';
import { FaultStore, type FaultPlan } from './fault-store.js';
import { checkTable, openTable, record, startBackend, type BackendName } from './harness.js';

export interface FaultOptions {
  backend: BackendName;
  /** Appends to make (each retried until it succeeds); optimize and checkpoint every 5. */
  appends: number;
  plan: FaultPlan;
  command: string;
}

export interface FaultResult {
  injected: FaultStore['injected'];
  /** Failures the callers saw, by error code; every one a LakehouseError with a message. */
  failuresByCode: Record<string, number>;
  /** Failures that were not LakehouseErrors, or were conflicts with no concurrent writer. */
  unclearFailures: string[];
  appendsAcknowledged: number;
  appendsSkippedAsDone: number;
  writeCommits: number;
  batchesFound: number;
  doubledBatches: number;
  rowsLost: number;
  versionsLoaded: number;
  latest: number;
}

/**
 * Codes that are wrong for an injected (transient) fault: the table is never corrupt here and
 * there is no other writer, so CORRUPT_LOG, a STORAGE decode error or a conflict misreports it.
 */
const WRONG_CODES = new Set([
  'CORRUPT_LOG',
  'STORAGE',
  'FILE_ALREADY_EXISTS',
  'CONCURRENT_MODIFICATION',
  'CONCURRENT_APPEND',
  'INTERNAL',
]);

/**
 * Scenario 3: one writer appends through a FaultStore (errors, timeouts, slow calls, writes whose
 * answer is lost) around a real backend, running OPTIMIZE and CHECKPOINT every 5 appends. A
 * failed operation must fail with a clear LakehouseError and is retried; appends are idempotent
 * (appId + appVersion), as a careful ingest makes them. Afterwards, with faults off: every append
 * is there exactly once, every version loads.
 */
export async function runStorageFaults(o: FaultOptions): Promise<FaultResult> {
  const backend = await startBackend(o.backend);
  try {
    const uri = backend.newTableUri('faults');
    const inner = await openTable(uri, backend.storageOptions);
    await createTable(inner, { schema: APPEND_SCHEMA });
    const store = new FaultStore(inner, o.plan);
    const schema = deltaSchemaToArrow(resolveSchema(APPEND_SCHEMA));
    const failuresByCode: Record<string, number> = {};
    const unclear: string[] = [];
    const attempt = async (what: string, fn: () => Promise<unknown>): Promise<unknown> => {
      for (let i = 1; ; i++) {
        try {
          return await fn();
        } catch (err) {
          const code = isLakehouseError(err) ? err.code : 'NOT_A_LAKEHOUSE_ERROR';
          failuresByCode[code] = (failuresByCode[code] ?? 0) + 1;
          const message = (err as Error)?.message ?? String(err);
          if (!isLakehouseError(err) || WRONG_CODES.has(code) || message.length < 10)
            unclear.push(`${what}: ${code}: ${message}`);
          if (i >= 50) throw new Error(`${what} still failing after 50 attempts: ${message}`, { cause: err });
        }
      }
    };
    let acknowledged = 0;
    let skipped = 0;
    for (let seq = 0; seq < o.appends; seq++) {
      const rows = Array.from({ length: ROWS_PER_APPEND }, (_, i) => ({ id: seq * 100 + i, writer: 1, seq }));
      const m = (await attempt(`append ${seq}`, () =>
        writeTable(store, batchFromRows(schema, rows), { appId: 'fault-writer', appVersion: seq }),
      )) as Awaited<ReturnType<typeof writeTable>>;
      acknowledged++;
      if (m.skipped) skipped++;
      if (seq % 5 === 4) {
        await attempt(`optimize after ${seq}`, () => optimize(store));
        await attempt(`checkpoint after ${seq}`, () => checkpoint(store));
      }
    }
    store.enabled = false;
    const check = await checkTable(inner);
    const history = await tableHistory(inner);
    let rowsLost = 0;
    for (let seq = 0; seq < o.appends; seq++)
      rowsLost += Math.max(0, ROWS_PER_APPEND - (check.batches.get(`1/${seq}`) ?? 0));
    const result: FaultResult = {
      injected: { ...store.injected },
      failuresByCode,
      unclearFailures: unclear,
      appendsAcknowledged: acknowledged,
      appendsSkippedAsDone: skipped,
      writeCommits: history.filter((h) => h.operation === 'WRITE').length,
      batchesFound: check.batches.size,
      doubledBatches: [...check.batches.values()].filter((n) => n !== ROWS_PER_APPEND).length,
      rowsLost,
      versionsLoaded: check.versionsLoaded,
      latest: check.version,
    };
    const inj = store.injected;
    record({
      scenario: `storage faults (seed ${o.plan.seed}): append + optimize + checkpoint`,
      backend: o.backend,
      runs: o.appends,
      faultsInjected: `${inj.error} errors, ${inj.timeout} timeouts, ${inj.slow} slow, ${inj['lost-answer']} lost answers`,
      commitsAcknowledged: acknowledged,
      commitsFound: result.writeCommits,
      rowsLost,
      extra: { ...result },
      command: o.command,
    });
    return result;
  } finally {
    await backend.stop();
  }
}

/**
 * The fault mix of the CI and full runs, on every path (data files included): errors and
 * timeouts stand for a request whose SDK retries were all spent, so they are rarer than slow
 * calls and lost answers. An operation makes dozens of requests (a checkpoint read one per
 * column chunk), so 1.5 % per request already fails about half of the operations once.
 */
export const DEFAULT_FAULTS: Omit<FaultPlan, 'seed'> = {
  error: 0.01,
  timeout: 0.005,
  slow: 0.05,
  lostAnswer: 0.05,
};
