import type { ObjectStore } from '../storage/object-store.js';
import {
  canonicalPath,
  fileKey,
  type Action,
  type AddAction,
  type CommitInfo,
  type DomainMetadataAction,
  type MetadataAction,
  type ProtocolAction,
  type RemoveAction,
  type TxnAction,
} from './actions.js';
import { assertReadable, inCommitTimestampsEnabled } from './features.js';
import { toEpochMillis, versionAtTimestamp } from './history.js';
import { LOG_DIR, padVersion, parseLogPath } from './log-path.js';
import { buildLogSegment, type LogSegment } from './log-segment.js';
import { readCommit, replay, type TableState } from './replay.js';
import { columnMappingMode, parseSchema, type ColumnMappingMode, type StructType } from './schema.js';

export interface SnapshotOptions {
  /** Load this version (time travel). Default: the latest. */
  version?: number;
  /** Load the version current at this time (Date, ms since the epoch, or ISO-8601). */
  timestamp?: Date | number | string;
}

/**
 * The state of a table at one version: protocol, metadata, schema, active files, tombstones, app
 * transactions and domain metadata. Immutable; `update()` returns a newer snapshot.
 *
 * `Snapshot.load` rejects with NOT_A_TABLE, VERSION_NOT_FOUND (which versions remain is in the
 * message), CORRUPT_LOG (naming the file) or UNSUPPORTED_READER_FEATURE (naming the feature).
 */
export class Snapshot {
  readonly store: ObjectStore;
  readonly version: number;
  readonly protocol: ProtocolAction;
  readonly metadata: MetadataAction;
  readonly schema: StructType;
  /** The commit timestamp of this version (in-commit timestamp when enabled, else file time), ms. */
  readonly timestamp: number;
  /** The in-commit timestamp of this version, when the table has them enabled. */
  readonly inCommitTimestamp: number | undefined;
  /** commitInfo of the commit at this version (null when that JSON file was cleaned up). */
  readonly commitInfo: CommitInfo | null;
  readonly logSegment: LogSegment;
  private readonly state: TableState;

  private constructor(store: ObjectStore, segment: LogSegment, state: TableState, timestamp: number) {
    this.store = store;
    this.version = segment.version;
    this.logSegment = segment;
    this.state = state;
    this.protocol = state.protocol;
    this.metadata = state.metadata;
    this.schema = parseSchema(
      state.metadata.schemaString,
      state.metadataSource ? `metaData.schemaString of ${state.metadataSource}` : undefined,
    );
    this.commitInfo = state.commitInfo;
    const ict = state.commitInfo?.inCommitTimestamp;
    this.inCommitTimestamp =
      inCommitTimestampsEnabled(state.protocol, state.metadata) && typeof ict === 'number' ? ict : undefined;
    this.timestamp = this.inCommitTimestamp ?? timestamp;
  }

  static async load(store: ObjectStore, options: SnapshotOptions = {}): Promise<Snapshot> {
    let version = options.version;
    if (options.timestamp !== undefined) {
      const v = await versionAtTimestamp(store, toEpochMillis(options.timestamp));
      version = version === undefined ? v : Math.min(version, v);
    }
    const segment = await buildLogSegment(store, { version });
    const state = await replay(store, segment, rootPathOf(store));
    const fileTime =
      segment.versionCommit?.lastModified ??
      (segment.checkpoint?.version === segment.version ? segment.checkpoint.parts[0].lastModified : 0);
    return new Snapshot(store, segment, state, fileTime);
  }

  /**
   * The latest snapshot, reading only the commits after this one (a full load when a checkpoint
   * newer than this version appeared and commits were cleaned up). Returns `this` when nothing changed.
   */
  async update(): Promise<Snapshot> {
    const newer = await newCommits(this.store, this.version);
    if (newer.length === 0) return this;
    const next = await this.applyCommits(newer);
    return next ?? Snapshot.load(this.store);
  }

  /** Apply commits `version+1 ..` forward; null when one is missing (cleaned up: caller reloads). */
  private async applyCommits(
    files: { version: number; path: string; lastModified: number }[],
  ): Promise<Snapshot | null> {
    const root = rootPathOf(this.store);
    const st: TableState = {
      protocol: this.protocol,
      metadata: this.metadata,
      adds: new Map(this.state.adds),
      removes: new Map(this.state.removes),
      txns: new Map(this.state.txns),
      domains: new Map(this.state.domains),
      commitInfo: null,
      metadataSource: this.state.metadataSource,
    };
    let expected = this.version + 1;
    let last: { version: number; path: string; lastModified: number } | undefined;
    const loaded = await Promise.all(files.map((f) => readCommit(this.store, f.path).catch(() => null)));
    for (let i = 0; i < files.length; i++) {
      const actions = loaded[i];
      if (!actions || files[i].version !== expected) return null;
      expected++;
      st.commitInfo = null;
      applyForward(st, actions, root);
      if (actions.some((a) => 'metaData' in a)) st.metadataSource = files[i].path;
      last = files[i];
    }
    if (!last) return this;
    const segment: LogSegment = {
      version: last.version,
      checkpoint: this.logSegment.checkpoint,
      commits: [
        ...this.logSegment.commits,
        ...files.map((f) => ({ kind: 'commit' as const, size: 0, ...f })),
      ],
      versionCommit: { kind: 'commit', size: 0, ...last },
    };
    return new Snapshot(this.store, segment, st, last.lastModified);
  }

  /** The active files (add actions), reconciled by path and deletion-vector id. */
  activeFiles(): AddAction[] {
    return [...this.state.adds.values()];
  }

  /** Iterate the active files without copying them into an array. */
  activeFilesIterator(): IterableIterator<AddAction> {
    return this.state.adds.values();
  }

  /** Tombstones: removed files not yet expired from the log, with their deletionTimestamp (VACUUM uses them). */
  tombstones(): RemoveAction[] {
    return [...this.state.removes.values()];
  }

  get numFiles(): number {
    return this.state.adds.size;
  }

  get sizeInBytes(): number {
    let total = 0;
    for (const a of this.state.adds.values()) total += a.size;
    return total;
  }

  get partitionColumns(): string[] {
    return this.metadata.partitionColumns;
  }

  /** Table properties (`metaData.configuration`). */
  get properties(): Record<string, string> {
    return this.metadata.configuration ?? {};
  }

  get columnMappingMode(): ColumnMappingMode {
    return columnMappingMode(this.metadata.configuration);
  }

  /** The latest committed version of an application's transaction (txn action), if any. */
  appTransactionVersion(appId: string): number | undefined {
    return this.state.txns.get(appId)?.version;
  }

  /** All app transactions. */
  get appTransactions(): ReadonlyMap<string, TxnAction> {
    return this.state.txns;
  }

  /** Live metadata domains (tombstoned domains excluded): domain → configuration. */
  get domainMetadata(): ReadonlyMap<string, string> {
    return new Map([...this.state.domains].map(([k, v]) => [k, v.configuration]));
  }

  /** Live domain metadata actions, for checkpoints. */
  domainMetadataActions(): DomainMetadataAction[] {
    return [...this.state.domains.values()];
  }

  /** True when a logical file (path + DV) is active in this snapshot. */
  hasFile(action: { path: string; deletionVector?: AddAction['deletionVector'] }): boolean {
    return this.state.adds.has(fileKey(action, rootPathOf(this.store)));
  }
}

/** The table root as a canonical path, for matching absolute paths in actions to relative ones. */
export function rootPathOf(store: ObjectStore): string {
  return canonicalPath(store.root.replace(/\/+$/, ''));
}

/** Apply one commit's actions forward (oldest to newest order) to a state. */
export function applyForward(st: TableState, actions: Action[], rootPath?: string): void {
  assertNoReaderRegression(actions);
  for (const a of actions) {
    if ('add' in a) {
      const key = fileKey(a.add, rootPath);
      st.removes.delete(key);
      st.adds.set(key, a.add);
    } else if ('remove' in a) {
      const key = fileKey(a.remove, rootPath);
      st.adds.delete(key);
      st.removes.set(key, a.remove);
    } else if ('metaData' in a) st.metadata = a.metaData;
    else if ('protocol' in a) st.protocol = a.protocol;
    else if ('txn' in a) st.txns.set(a.txn.appId, a.txn);
    else if ('domainMetadata' in a) {
      if (a.domainMetadata.removed) st.domains.delete(a.domainMetadata.domain);
      else st.domains.set(a.domainMetadata.domain, a.domainMetadata);
    } else if ('commitInfo' in a) st.commitInfo = a.commitInfo;
  }
}

function assertNoReaderRegression(actions: Action[]): void {
  for (const a of actions) if ('protocol' in a) assertReadable(a.protocol);
}

async function newCommits(store: ObjectStore, after: number) {
  const out: { version: number; path: string; lastModified: number }[] = [];
  for await (const meta of store.list(`${LOG_DIR}/`, {
    startAfter: `${LOG_DIR}/${padVersion(after)}.json`,
  })) {
    const name = meta.path.slice(LOG_DIR.length + 1);
    if (name.startsWith('_')) break;
    const f = parseLogPath(meta.path, meta.size, meta.lastModified);
    if (f?.kind === 'commit' && f.version > after)
      out.push({ version: f.version, path: f.path, lastModified: f.lastModified });
  }
  return out;
}
