import { LakehouseError } from '../errors.js';
import { canonicalPath, type Action, type AddAction, type CommitInfo } from './actions.js';
import { padVersion } from './log-path.js';

/**
 * Conflict detection between a transaction and the commits that won the race to the versions it
 * tried ("Serializable" and "WriteSerializable" isolation, as Spark's ConflictChecker defines them).
 * Each check raises the error a caller can branch on; a winner that passes them all is "resolved"
 * and the transaction retries at the next version.
 */

export type IsolationLevel = 'Serializable' | 'WriteSerializable';

/** What the current transaction read and writes. */
export interface TransactionFootprint {
  readPredicate?: (add: AddAction) => boolean;
  /** Canonical paths of the files the transaction read. */
  readFiles: ReadonlySet<string>;
  readWholeTable: boolean;
  /** App ids whose txn version the transaction wrote or depends on. */
  appIds: ReadonlySet<string>;
  /** Canonical paths the transaction removes. */
  removedPaths: ReadonlySet<string>;
  /** Domains the transaction writes. */
  domains: ReadonlySet<string>;
  changesMetadata: boolean;
  changesProtocol: boolean;
  isolationLevel: IsolationLevel;
  rootPath?: string;
}

/** A winning commit, summarized. */
export interface WinningCommit {
  version: number;
  actions: Action[];
}

export function summarize(actions: Action[]): { commitInfo: CommitInfo | undefined } {
  let commitInfo: CommitInfo | undefined;
  for (const a of actions) if ('commitInfo' in a) commitInfo = a.commitInfo;
  return { commitInfo };
}

/** Throw the conflict error for `winner`, or return normally when the transaction can retry after it. */
export function checkConflicts(tx: TransactionFootprint, winner: WinningCommit): void {
  const where = `version ${winner.version} (${padVersion(winner.version)}.json)`;
  const op = summarize(winner.actions).commitInfo?.operation;
  const by = op ? ` by a concurrent ${op}` : ' by a concurrent writer';
  const isBlindAppend = summarize(winner.actions).commitInfo?.isBlindAppend === true;

  for (const a of winner.actions) {
    if ('protocol' in a) {
      throw new LakehouseError(
        'PROTOCOL_CHANGED',
        `delta: the table protocol was changed${by} in ${where}; reload the table and retry`,
      );
    }
    if ('metaData' in a) {
      throw new LakehouseError(
        'METADATA_CHANGED',
        `delta: the table metadata (schema, partitioning or properties) was changed${by} in ${where}; reload the table and retry`,
      );
    }
  }

  // Files the winner added that this transaction should have read.
  const checkAdds = tx.readWholeTable || tx.readPredicate !== undefined;
  if (checkAdds) {
    for (const a of winner.actions) {
      if (!('add' in a)) continue;
      const add = a.add;
      // Rearrangements (dataChange=false) never conflict; blind appends do only under Serializable
      // or when this transaction changes the metadata.
      if (!add.dataChange) continue;
      if (isBlindAppend && tx.isolationLevel === 'WriteSerializable' && !tx.changesMetadata) continue;
      if (tx.readWholeTable || tx.readPredicate!(add)) {
        throw new LakehouseError(
          'CONCURRENT_APPEND',
          `delta: files were added${by} in ${where} to data this transaction read (${canonicalPath(add.path)}); ` +
            'retry the operation on the new version',
        );
      }
    }
  }

  for (const a of winner.actions) {
    if (!('remove' in a)) continue;
    const path = canonicalPath(a.remove.path, tx.rootPath);
    if (tx.readFiles.has(path) || tx.readWholeTable) {
      throw new LakehouseError(
        'CONCURRENT_DELETE_READ',
        `delta: ${path}, which this transaction read, was removed${by} in ${where}; retry the operation on the new version`,
      );
    }
    if (tx.removedPaths.has(path)) {
      throw new LakehouseError(
        'CONCURRENT_DELETE_DELETE',
        `delta: ${path}, which this transaction removes, was already removed${by} in ${where}; retry the operation on the new version`,
      );
    }
  }

  for (const a of winner.actions) {
    if ('txn' in a && tx.appIds.has(a.txn.appId)) {
      throw new LakehouseError(
        'CONCURRENT_TRANSACTION',
        `delta: application ${a.txn.appId} committed version ${a.txn.version} concurrently in ${where}; ` +
          'the same application must not write from two places at once',
      );
    }
    if ('domainMetadata' in a && tx.domains.has(a.domainMetadata.domain)) {
      throw new LakehouseError(
        'CONCURRENT_TRANSACTION',
        `delta: metadata domain ${a.domainMetadata.domain} was changed concurrently in ${where}; retry the operation`,
      );
    }
  }
}
