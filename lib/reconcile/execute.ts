/**
 * Carrying out one planned action on a table. Each action is one operation of `lib/ops` (or one
 * metadata commit) and is safe against concurrent writers: schema and property changes are
 * optimistic transactions that fail with METADATA_CHANGED when someone else changed the metadata
 * first, compaction and vacuum follow their operations' rules.
 */
import type { ProtocolAction } from '../delta/actions.js';
import { assertWritable, protocolFor, readerFeatures, writerFeatures } from '../delta/features.js';
import {
  assignColumnMapping,
  CM_MAX_ID,
  columnMappingMode,
  mergeSchemas,
  serializeSchema,
  type StructType,
} from '../delta/schema.js';
import { Snapshot } from '../delta/snapshot.js';
import { Transaction } from '../delta/transaction.js';
import { checkpoint, cleanupLog } from '../ops/checkpoint.js';
import { createTable, featuresFor } from '../ops/create.js';
import { vacuum } from '../ops/vacuum.js';
import type { ObjectStore } from '../storage/object-store.js';
import { compactTable } from './compaction.js';
import { planHandOff, type CompactionExecutor } from './handoff.js';
import type { PlannedAction } from './plan.js';

/** What one action did. */
export interface ActionOutcome {
  /**
   * `skipped`: nothing needed doing once it ran (e.g. a checkpoint a commit had just written);
   * `handed-off`: a compaction given to the `compactionExecutor`, which reports its result.
   */
  readonly status: 'done' | 'skipped' | 'handed-off';
  /** One line for people: `merged 120 files (3.1 MiB) into 8`. */
  readonly summary: string;
  /** The table version after the action (when it committed). */
  readonly version?: number;
  /** The action's own figures (files, bytes, …), for `--format json`. */
  readonly metrics: Readonly<Record<string, number | string | null>>;
}

/**
 * Run `action` on the table at `store`. Errors propagate (LakehouseError with a code).
 * `memoryLimit` (bytes) is compaction's peak-memory cap (OPTIMIZE plans under it or refuses
 * with MEMORY_LIMIT); the other actions stream and need none.
 */
export async function executeAction(
  store: ObjectStore,
  action: PlannedAction,
  options: { tableName: string; memoryLimit?: number; compactionExecutor?: CompactionExecutor },
): Promise<ActionOutcome> {
  switch (action.kind) {
    case 'create': {
      const r = await createTable(store, {
        schema: action.schema,
        partitionBy: action.partitionBy,
        properties: { ...action.properties },
        name: options.tableName,
      });
      return {
        status: 'done',
        summary: `${action.schema.fields.length} columns${action.partitionBy.length ? `, partitioned by ${action.partitionBy.join(', ')}` : ''}`,
        version: r.version,
        metrics: { columns: action.schema.fields.length },
      };
    }
    case 'addColumns': {
      const snap = await Snapshot.load(store);
      assertWritable(snap.protocol, snap.metadata);
      let schema = mergeSchemas(snap.schema, action.schema, { mergeSchema: true });
      const configuration = { ...snap.metadata.configuration };
      if (columnMappingMode(configuration) !== 'none') {
        const mapped = assignColumnMapping(schema, Number(configuration[CM_MAX_ID] ?? 0));
        schema = mapped.schema;
        configuration[CM_MAX_ID] = String(mapped.maxColumnId);
      }
      const version = await commitMetadata(store, snap, schema, configuration, 'ADD COLUMNS', {
        columns: JSON.stringify(action.columns),
      });
      return {
        status: 'done',
        summary: `added ${action.columns.join(', ')}`,
        version,
        metrics: { columnsAdded: action.columns.length },
      };
    }
    case 'setProperties': {
      const snap = await Snapshot.load(store);
      assertWritable(snap.protocol, snap.metadata);
      const configuration = { ...snap.metadata.configuration, ...action.properties };
      const version = await commitMetadata(store, snap, snap.schema, configuration, 'SET TBLPROPERTIES', {
        properties: JSON.stringify(action.properties),
      });
      return {
        status: 'done',
        summary: `set ${Object.entries(action.properties)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')}`,
        version,
        metrics: { propertiesSet: Object.keys(action.properties).length },
      };
    }
    case 'compaction': {
      // Above the executor's threshold the compaction runs elsewhere (the operator's Jobs); while
      // such a run is in progress, nothing compacts the table here.
      const running = options.compactionExecutor?.inProgress?.() ?? null;
      if (running) return { status: 'handed-off', summary: running.summary, metrics: { ...running.metrics } };
      const handOff = options.compactionExecutor
        ? await planHandOff(store, action, options.compactionExecutor, options.tableName)
        : null;
      if (handOff) {
        const r = await options.compactionExecutor!.run(handOff);
        return {
          status: 'handed-off',
          summary: r.summary,
          version: handOff.version,
          metrics: {
            ranges: handOff.ranges.length,
            filesToRewrite: handOff.files,
            bytesToRewrite: handOff.bytes,
            ...r.metrics,
          },
        };
      }
      const r = await compactTable(
        store,
        options.memoryLimit !== undefined ? { ...action, memoryLimit: options.memoryLimit } : action,
      );
      if (r.commits.length === 0) {
        return { status: 'skipped', summary: 'nothing to merge', version: r.version, metrics: {} };
      }
      return {
        status: 'done',
        summary: `merged ${r.filesRemoved} files into ${r.filesAdded} in ${r.partitionsOptimized} partition${r.partitionsOptimized === 1 ? '' : 's'}`,
        version: r.version,
        metrics: {
          filesRemoved: r.filesRemoved,
          filesAdded: r.filesAdded,
          bytesRemoved: r.bytesRemoved,
          bytesAdded: r.bytesAdded,
          partitionsOptimized: r.partitionsOptimized,
          memoryLimit: r.memoryLimit,
          estimatedPeakMemory: r.estimatedPeakMemory,
        },
      };
    }
    case 'checkpoint': {
      const snap = await Snapshot.load(store);
      if (snap.logSegment.checkpoint?.version === snap.version) {
        return {
          status: 'skipped',
          summary: `version ${snap.version} already has a checkpoint (written after the last commit)`,
          version: snap.version,
          metrics: {},
        };
      }
      const r = await checkpoint(store);
      const cleaned = await cleanupLog(store);
      return {
        status: 'done',
        summary:
          `checkpoint at version ${r.version} (${r.numOfAddFiles} files)` +
          (cleaned.deleted.length ? `; ${cleaned.deleted.length} expired log files deleted` : ''),
        version: r.version,
        metrics: { checkpointVersion: r.version, logFilesDeleted: cleaned.deleted.length },
      };
    }
    case 'vacuum': {
      const r = await vacuum(store, { retentionHours: action.retentionHours });
      const kept = r.filesKeptForTimeTravel + r.filesKeptTooYoung + r.filesKeptInFlight;
      return {
        status: 'done',
        summary:
          `deleted ${r.filesDeleted} unreferenced files (retention ${r.retentionHours}h)` +
          (kept
            ? `; kept ${kept} still read inside the retention, younger than it, or of writes in flight`
            : ''),
        metrics: {
          filesDeleted: r.filesDeleted,
          bytesDeleted: r.bytesDeleted,
          filesKeptForTimeTravel: r.filesKeptForTimeTravel,
          filesKeptTooYoung: r.filesKeptTooYoung,
          filesKeptInFlight: r.filesKeptInFlight,
        },
      };
    }
  }
}

/** Commit a new schema and/or configuration, upgrading the protocol when they need a feature it lacks. */
async function commitMetadata(
  store: ObjectStore,
  snap: Snapshot,
  schema: StructType,
  configuration: Record<string, string>,
  operation: string,
  operationParameters: Record<string, unknown>,
): Promise<number> {
  const protocol = upgradedProtocol(snap.protocol, schema, configuration);
  const tx = new Transaction(store, snap, { operation, operationParameters, isBlindAppend: false });
  tx.addActions([
    ...(protocol ? [{ protocol }] : []),
    { metaData: { ...snap.metadata, schemaString: serializeSchema(schema), configuration } },
  ]);
  return (await tx.commit()).version;
}

/** The protocol a table needs for `schema` and `configuration`, or undefined when its own suffices. */
export function upgradedProtocol(
  current: ProtocolAction,
  schema: StructType,
  configuration: Record<string, string>,
): ProtocolAction | undefined {
  const have = new Set([...readerFeatures(current), ...writerFeatures(current)]);
  const needed = featuresFor(schema, configuration);
  if (needed.every((f) => have.has(f))) return undefined;
  return protocolFor([...have, ...needed]);
}
