import { isLakehouseError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import {
  corruptLog,
  fileKey,
  parseActions,
  type Action,
  type AddAction,
  type CommitInfo,
  type DomainMetadataAction,
  type MetadataAction,
  type ProtocolAction,
  type RemoveAction,
  type TxnAction,
} from './actions.js';
import { readCheckpointActions } from './checkpoint-read.js';
import { assertReadable } from './features.js';
import { baseName } from './log-path.js';
import type { LogSegment } from './log-segment.js';
import { prefetchOrdered } from './prefetch.js';

/**
 * Log replay ("Action Reconciliation" in PROTOCOL.md), newest first as kernels do: commits from the
 * newest down, then the checkpoint. The first action seen for a logical file (path + DV id),
 * protocol, metadata, app id or domain is the one that wins; older ones are skipped without being
 * kept. Memory is proportional to the live state (active files and tombstones), not to the log.
 */
export interface TableState {
  protocol: ProtocolAction;
  metadata: MetadataAction;
  /** Active files by reconciliation key. */
  adds: Map<string, AddAction>;
  /** Tombstones by reconciliation key. */
  removes: Map<string, RemoveAction>;
  txns: Map<string, TxnAction>;
  /** Live (non-removed) domains. */
  domains: Map<string, DomainMetadataAction>;
  /** commitInfo of the commit at the snapshot version, when that file still exists. */
  commitInfo: CommitInfo | null;
  /** The log file the winning metaData came from (for errors about it), when replay knows it. */
  metadataSource?: string;
}

/** Commit files read ahead of the one being applied. */
const COMMIT_PREFETCH = 16;

/** Read one commit file's actions; a missing file is CORRUPT_LOG naming it (it was listed a moment ago). */
export async function readCommit(
  store: ObjectStore,
  path: string,
  options: { skipCommitInfo?: boolean } = {},
): Promise<Action[]> {
  let bytes: Uint8Array;
  try {
    bytes = await store.get(path);
  } catch (err) {
    if (isLakehouseError(err, 'NOT_FOUND')) {
      throw corruptLog(
        baseName(path),
        'commit file disappeared while reading the log (was it cleaned up?)',
        undefined,
        err,
      );
    }
    throw err;
  }
  return parseActions(new TextDecoder().decode(bytes), baseName(path), options);
}

export async function replay(
  store: ObjectStore,
  segment: LogSegment,
  rootPath?: string,
): Promise<TableState> {
  let protocol: ProtocolAction | undefined;
  let metadata: MetadataAction | undefined;
  let metadataSource: string | undefined;
  let reading = '';
  const adds = new Map<string, AddAction>();
  const removes = new Map<string, RemoveAction>();
  const txns = new Map<string, TxnAction>();
  const domains = new Map<string, DomainMetadataAction>();
  const domainSeen = new Set<string>();
  let commitInfo: CommitInfo | null = null;

  const apply = (a: Action) => {
    if ('add' in a) {
      const key = fileKey(a.add, rootPath);
      if (!adds.has(key) && !removes.has(key)) adds.set(key, a.add);
    } else if ('remove' in a) {
      const key = fileKey(a.remove, rootPath);
      if (!adds.has(key) && !removes.has(key)) removes.set(key, a.remove);
    } else if ('metaData' in a) {
      if (!metadata) {
        metadata = a.metaData;
        metadataSource = reading;
      }
    } else if ('protocol' in a) {
      if (!protocol) {
        protocol = a.protocol;
        // Fail before reading more of a table we cannot read.
        assertReadable(protocol);
      }
    } else if ('txn' in a) {
      if (!txns.has(a.txn.appId)) txns.set(a.txn.appId, a.txn);
    } else if ('domainMetadata' in a) {
      const d = a.domainMetadata;
      if (!domainSeen.has(d.domain)) {
        domainSeen.add(d.domain);
        if (!d.removed) domains.set(d.domain, d);
      }
    }
  };

  const newestFirst = [...segment.commits].reverse();
  const commits = prefetchOrdered(newestFirst, COMMIT_PREFETCH, (c) =>
    readCommit(store, c.path, { skipCommitInfo: c.version !== segment.version }),
  );
  let next = 0;
  for await (const actions of commits) {
    reading = newestFirst[next++]!.path;
    for (const a of actions) {
      if ('commitInfo' in a) commitInfo ??= a.commitInfo;
      else apply(a);
    }
  }
  if (segment.checkpoint) {
    // A checkpoint holds each file once (reconciled when it was written), so a checkpoint add is
    // checked against the files newer commits decided (a small set) and the tombstones, not
    // against the map of every active file it is filling.
    const decided = new Set<string>([...adds.keys(), ...removes.keys()]);
    const parts = segment.checkpoint.parts;
    reading = parts.length === 1 ? parts[0]!.path : `${parts[0]!.path} (${parts.length} parts)`;
    for await (const batch of readCheckpointActions(store, segment.checkpoint)) {
      for (const a of batch) {
        if ('add' in a) {
          const key = fileKey(a.add, rootPath);
          if (!decided.has(key) && !removes.has(key)) adds.set(key, a.add);
        } else if ('remove' in a) {
          const key = fileKey(a.remove, rootPath);
          if (!decided.has(key) && !adds.has(key)) removes.set(key, a.remove);
        } else apply(a);
      }
    }
  }
  if (segment.versionCommit && !commitInfo && segment.commits.length === 0) {
    // The snapshot version is the checkpoint's: its commitInfo is only in the JSON commit.
    const actions = await readCommit(store, segment.versionCommit.path);
    for (const a of actions) if ('commitInfo' in a) commitInfo = a.commitInfo;
  }
  const where = `versions ${segment.checkpoint ? `${segment.checkpoint.version} (checkpoint)` : 0} to ${segment.version} of ${store.root}`;
  if (!protocol)
    throw corruptLog('_delta_log', `no protocol action found in ${where}; the table cannot be read`);
  if (!metadata)
    throw corruptLog('_delta_log', `no metaData action found in ${where}; the table cannot be read`);
  return { protocol, metadata, adds, removes, txns, domains, commitInfo, metadataSource };
}
