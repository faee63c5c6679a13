import { randomUUID } from 'node:crypto';
import { LakehouseError, isLakehouseError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import { bytesEqual, sleep } from '../storage/retry.js';
import {
  canonicalPath,
  serializeActions,
  type Action,
  type AddAction,
  type CommitInfo,
  type MetadataAction,
  type ProtocolAction,
} from './actions.js';
import { writeCheckpoint, type CheckpointResult } from './checkpoint-write.js';
import { checkConflicts, type IsolationLevel, type TransactionFootprint } from './conflict.js';
import {
  assertProtocolSupportsMetadata,
  assertWritable,
  inCommitTimestampsEnabled,
  protocolForMetadata,
} from './features.js';
import { cleanupExpiredLogs } from './log-cleanup.js';
import { LOG_DIR, commitPath, padVersion, parseLogPath } from './log-path.js';
import { checkpointInterval, tableProperty } from './properties.js';
import { readCommit } from './replay.js';
import { parseSchema } from './schema.js';
import { Snapshot, rootPathOf } from './snapshot.js';

/** The engine name written to `commitInfo.engineInfo` unless the caller gives one. */
export const ENGINE_INFO = 'lakehouse-kit/0.1.0';

export interface TransactionOptions {
  /** The operation recorded in commitInfo (`WRITE`, `DELETE`, `OPTIMIZE`, `CREATE TABLE`, …). */
  operation: string;
  operationParameters?: Record<string, unknown>;
  operationMetrics?: Record<string, unknown>;
  /**
   * "Would I have read this file?" Files that concurrent winners add (with dataChange) and that
   * match it make this commit fail with CONCURRENT_APPEND. Omit for transactions that read nothing.
   */
  readPredicate?: (add: AddAction) => boolean;
  /** Paths of the files this transaction read: a winner removing one fails it with CONCURRENT_DELETE_READ. */
  readFiles?: Iterable<string>;
  /** The transaction read every file (any concurrent add or remove conflicts). Default false. */
  readWholeTable?: boolean;
  /** Only adds files and read nothing; default: inferred (no removes, no metadata, no read set). */
  isBlindAppend?: boolean;
  /** Idempotent writes: records `txn {appId, version}`; a concurrent commit by the same app conflicts. */
  appTransaction?: { appId: string; version: number };
  /** Attempts after the first lost race before giving up with CONCURRENT_MODIFICATION. Default 15. */
  maxRetries?: number;
  /** Default `lakehouse-kit/<version>`. */
  engineInfo?: string;
  /** Default Serializable (blind appends conflict with readers of a matching predicate). */
  isolationLevel?: IsolationLevel;
  /** Checkpoint every `delta.checkpointInterval` commits after committing. Default true. */
  autoCheckpoint?: boolean;
  /** Extra commitInfo fields (e.g. `userName`). */
  commitInfo?: Record<string, unknown>;
}

export interface CommitResult {
  version: number;
  /** Put attempts made (1 when there was no race). */
  attempts: number;
  /** Winning commits that were checked and did not conflict. */
  conflictsResolved: number;
  /** The checkpoint written after the commit, if one was due. */
  checkpoint?: CheckpointResult;
  /** Why a due checkpoint or log cleanup failed (the commit itself succeeded). */
  postCommitError?: Error;
}

/**
 * One optimistic transaction: read at `snapshot.version` (or `null` to create the table), collect
 * actions, then `commit()` writes them as the next version with put-if-absent. When another writer
 * got there first, the winners are read and checked against what this transaction read and
 * changed; if none conflicts it retries at the next free version, up to `maxRetries` times.
 *
 * Errors from `commit()`: TABLE_ALREADY_EXISTS (creating over a table), CONCURRENT_APPEND,
 * CONCURRENT_DELETE_READ, CONCURRENT_DELETE_DELETE, METADATA_CHANGED, PROTOCOL_CHANGED,
 * CONCURRENT_TRANSACTION (a conflict: nothing was written), CONCURRENT_MODIFICATION (gave up after
 * `maxRetries` non-conflicting races), UNSUPPORTED_WRITER_FEATURE.
 */
export class Transaction {
  private readonly actions: Action[] = [];
  private committed = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly snapshot: Snapshot | null,
    private readonly options: TransactionOptions,
  ) {}

  /** Add actions to commit (add, remove, metaData, protocol, txn, cdc, domainMetadata). */
  addActions(actions: Iterable<Action>): this {
    if (this.committed)
      throw new LakehouseError('INTERNAL', 'delta: internal error: transaction already committed');
    for (const a of actions) {
      if ('commitInfo' in a)
        throw new LakehouseError(
          'INVALID_ARGUMENT',
          'delta: commitInfo is written by the transaction; pass its fields as options',
        );
      if ('checkpointMetadata' in a || 'sidecar' in a) {
        throw new LakehouseError(
          'INVALID_ARGUMENT',
          'delta: checkpointMetadata and sidecar actions are not allowed in commits',
        );
      }
      this.actions.push(a);
    }
    return this;
  }

  get readVersion(): number | undefined {
    return this.snapshot?.version;
  }

  async commit(): Promise<CommitResult> {
    if (this.committed)
      throw new LakehouseError('INTERNAL', 'delta: internal error: transaction already committed');
    this.committed = true;
    const opts = this.options;
    const root = rootPathOf(this.store);
    const newMetadata = findLast(this.actions, 'metaData') as MetadataAction | undefined;
    let newProtocol = findLast(this.actions, 'protocol') as ProtocolAction | undefined;
    const removes = this.actions.filter(
      (a): a is { remove: NonNullable<Extract<Action, { remove: unknown }>['remove']> } => 'remove' in a,
    );
    const hasDataRemove = removes.some((r) => r.remove.dataChange);
    const rewritesRows =
      /^(DELETE|UPDATE|MERGE)/i.test(opts.operation) &&
      !this.actions.some((a) => 'cdc' in a) &&
      this.actions.some((a) => 'add' in a && a.add.dataChange);
    const readsSomething = !!opts.readPredicate || !!opts.readWholeTable || opts.readFiles !== undefined;
    const isBlindAppend =
      opts.isBlindAppend ??
      (!readsSomething &&
        removes.length === 0 &&
        !newMetadata &&
        !newProtocol &&
        this.actions.some((a) => 'add' in a));

    if (!this.snapshot) {
      if (!newMetadata)
        throw new LakehouseError('INVALID_ARGUMENT', 'delta: creating a table needs a metaData action');
      parseSchema(newMetadata.schemaString);
      newProtocol ??= protocolForMetadata(newMetadata);
      if (!findLast(this.actions, 'protocol')) this.actions.unshift({ protocol: newProtocol });
    }
    const protocol = newProtocol ?? this.snapshot!.protocol;
    const metadata = newMetadata ?? this.snapshot!.metadata;
    if (this.snapshot)
      assertWritable(this.snapshot.protocol, this.snapshot.metadata, {
        blindAppend: isBlindAppend,
        removesData: hasDataRemove,
        rewritesRows,
      });
    assertWritable(protocol, metadata, {
      blindAppend: isBlindAppend,
      removesData: hasDataRemove,
      rewritesRows,
    });
    if (newMetadata || newProtocol) assertProtocolSupportsMetadata(protocol, metadata);
    if (newMetadata) parseSchema(newMetadata.schemaString);

    const footprint: TransactionFootprint = {
      readPredicate: opts.readPredicate,
      readFiles: new Set([...(opts.readFiles ?? [])].map((p) => canonicalPath(p, root))),
      readWholeTable: !!opts.readWholeTable,
      appIds: new Set([
        ...this.actions.filter((a) => 'txn' in a).map((a) => (a as { txn: { appId: string } }).txn.appId),
        ...(opts.appTransaction ? [opts.appTransaction.appId] : []),
      ]),
      removedPaths: new Set(removes.map((r) => canonicalPath(r.remove.path, root))),
      domains: new Set(
        this.actions
          .filter((a) => 'domainMetadata' in a)
          .map((a) => (a as { domainMetadata: { domain: string } }).domainMetadata.domain),
      ),
      changesMetadata: !!newMetadata,
      changesProtocol: !!findLast(this.actions, 'protocol') && !!this.snapshot,
      isolationLevel: opts.isolationLevel ?? 'Serializable',
      rootPath: root,
    };
    const body = [...this.actions];
    if (opts.appTransaction) body.push({ txn: { ...opts.appTransaction, lastUpdated: Date.now() } });

    const ict = inCommitTimestampsEnabled(protocol, metadata);
    let lastIct = this.snapshot?.inCommitTimestamp ?? this.snapshot?.timestamp ?? 0;
    let version = (this.snapshot?.version ?? -1) + 1;
    const maxRetries = opts.maxRetries ?? 15;
    let attempts = 0;
    let conflictsResolved = 0;
    for (;;) {
      attempts++;
      const now = Date.now();
      const commitInfo: CommitInfo = {
        ...(ict ? { inCommitTimestamp: Math.max(now, lastIct + 1) } : {}),
        timestamp: now,
        operation: opts.operation,
        operationParameters: opts.operationParameters ?? {},
        ...(opts.operationMetrics
          ? { operationMetrics: opts.operationMetrics }
          : { operationMetrics: defaultMetrics(body) }),
        ...(this.snapshot ? { readVersion: this.snapshot.version } : {}),
        isolationLevel: footprint.isolationLevel,
        isBlindAppend,
        engineInfo: opts.engineInfo ?? ENGINE_INFO,
        txnId: randomUUID(),
        ...opts.commitInfo,
      };
      // commitInfo first: In-Commit Timestamps require it, and history readers find it on line 1.
      const bytes = serializeActions([{ commitInfo }, ...body]);
      try {
        await this.store.putIfAbsent(commitPath(version), bytes);
        break;
      } catch (err) {
        // An answer lost after the put landed: the commit is ours if the file holds our bytes
        // (txnId makes them unique), else the outcome stays unknown and the error says so.
        if (
          isLakehouseError(err, 'STORAGE_TRANSIENT') &&
          (await holdsBytes(this.store, commitPath(version), bytes))
        )
          break;
        if (!isLakehouseError(err, 'FILE_ALREADY_EXISTS')) throw err;
      }
      if (!this.snapshot) {
        throw new LakehouseError(
          'TABLE_ALREADY_EXISTS',
          `delta: a table already exists at ${this.store.root} (version 0 is taken)`,
        );
      }
      if (attempts > maxRetries) {
        throw new LakehouseError(
          'CONCURRENT_MODIFICATION',
          `delta: gave up after ${attempts} attempts: other writers kept committing first (last tried version ${version}, ` +
            `read version ${this.snapshot.version}); retry later or raise maxRetries`,
        );
      }
      // Losing again and again means many writers at once: a jittered, growing pause lets the
      // others through instead of racing them for every next version.
      if (attempts >= 4) await sleep(Math.random() * Math.min(1000, 5 * 2 ** (attempts - 3)));
      // Read every winner from the version we lost up to the newest, and check each.
      const winners = await listCommitsFrom(this.store, version);
      for (const w of winners) {
        const actions = await readCommit(this.store, w.path);
        checkConflicts(footprint, { version: w.version, actions });
        for (const a of actions) {
          if ('commitInfo' in a && typeof a.commitInfo.inCommitTimestamp === 'number')
            lastIct = a.commitInfo.inCommitTimestamp;
        }
        conflictsResolved++;
        version = w.version + 1;
      }
    }
    const result: CommitResult = { version, attempts, conflictsResolved };
    if (opts.autoCheckpoint !== false) {
      try {
        await this.postCommit(version, metadata, result);
      } catch (err) {
        result.postCommitError = err as Error;
      }
    }
    return result;
  }

  /** Checkpoint when the committed version is a multiple of the interval, then clean up expired logs. */
  private async postCommit(version: number, metadata: MetadataAction, result: CommitResult): Promise<void> {
    const interval = checkpointInterval(metadata.configuration);
    if (version === 0 || version % interval !== 0) return;
    const snap = this.snapshot ? await this.snapshot.update() : await Snapshot.load(this.store);
    const exact = snap.version === version ? snap : await Snapshot.load(this.store, { version });
    result.checkpoint = await writeCheckpoint(this.store, exact);
    if (tableProperty(exact.properties, 'delta.enableExpiredLogCleanup') !== 'false') {
      await cleanupExpiredLogs(this.store, exact.properties);
    }
  }
}

function findLast(actions: Action[], name: 'metaData' | 'protocol'): unknown {
  for (let i = actions.length - 1; i >= 0; i--) {
    const a = actions[i] as Record<string, unknown>;
    if (name in a) return a[name];
  }
  return undefined;
}

function defaultMetrics(actions: Action[]): Record<string, string> {
  let numFiles = 0;
  let bytes = 0;
  let removed = 0;
  let removedBytes = 0;
  let rows = 0;
  for (const a of actions) {
    if ('add' in a) {
      numFiles++;
      bytes += a.add.size;
      if (a.add.stats) {
        const m = /"numRecords":(\d+)/.exec(a.add.stats);
        if (m) rows += Number(m[1]);
      }
    } else if ('remove' in a) {
      removed++;
      removedBytes += a.remove.size ?? 0;
    }
  }
  // Spark writes metrics as strings.
  return {
    numFiles: String(numFiles),
    numOutputBytes: String(bytes),
    numOutputRows: String(rows),
    numRemovedFiles: String(removed),
    numRemovedBytes: String(removedBytes),
  };
}

/** True when `path` exists with exactly `bytes`; false when it is missing or unreadable. */
async function holdsBytes(store: ObjectStore, path: string, bytes: Uint8Array): Promise<boolean> {
  try {
    return bytesEqual(await store.get(path), bytes);
  } catch {
    return false;
  }
}

async function listCommitsFrom(
  store: ObjectStore,
  from: number,
): Promise<{ version: number; path: string }[]> {
  const out: { version: number; path: string }[] = [];
  const startAfter = from > 0 ? `${LOG_DIR}/${padVersion(from - 1)}.json` : undefined;
  for await (const meta of store.list(`${LOG_DIR}/`, { startAfter })) {
    const name = meta.path.slice(LOG_DIR.length + 1);
    if (name.startsWith('_')) break;
    const f = parseLogPath(meta.path);
    if (f?.kind === 'commit' && f.version >= from) out.push({ version: f.version, path: f.path });
  }
  // Only the contiguous run from `from`: a gap means a commit is being written right now.
  const run: { version: number; path: string }[] = [];
  for (const c of out) {
    if (c.version !== from + run.length) break;
    run.push(c);
  }
  if (run.length === 0) run.push({ version: from, path: commitPath(from) });
  return run;
}
