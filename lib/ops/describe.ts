import type { ObjectStore } from '../storage/object-store.js';
import { readerFeatures, writerFeatures } from '../delta/features.js';
import { Snapshot, type SnapshotOptions } from '../delta/snapshot.js';
import type { StructType } from '../delta/schema.js';
import { minFileSize, OPS_DEFAULTS } from './defaults.js';

/**
 * DESCRIBE: what a table is and how healthy its layout is, from one snapshot (no data read):
 * schema, partitioning, properties, protocol and features, version, number and total size of
 * active files, a size histogram, and the small-file count (files below 3/4 of the target size,
 * the ones OPTIMIZE would compact).
 */
export interface TableDescription {
  location: string;
  version: number;
  /** Commit timestamp of this version, ISO-8601 UTC. */
  timestamp: string;
  id: string;
  name: string | null;
  description: string | null;
  createdTime: string | null;
  numFiles: number;
  sizeInBytes: number;
  numRecords: number | null;
  partitionColumns: string[];
  numPartitions: number;
  schema: StructType;
  properties: Record<string, string>;
  protocol: {
    minReaderVersion: number;
    minWriterVersion: number;
    readerFeatures: string[];
    writerFeatures: string[];
  };
  smallFileThreshold: number;
  smallFiles: number;
  /** Buckets by upper bound (bytes, exclusive); the last bucket has no bound (null). */
  sizeHistogram: { upTo: number | null; files: number; bytes: number }[];
  tombstones: number;
}

const HISTOGRAM_BOUNDS = [1 << 20, 8 << 20, 32 << 20, 64 << 20, 128 << 20, 256 << 20, 1024 << 20];

export async function describeTable(
  store: ObjectStore,
  options: SnapshotOptions & { targetFileSize?: number } = {},
): Promise<TableDescription> {
  const snap = await Snapshot.load(store, options);
  const threshold = minFileSize(options.targetFileSize ?? OPS_DEFAULTS.targetFileSize);
  const histogram = [...HISTOGRAM_BOUNDS, null].map((upTo) => ({ upTo, files: 0, bytes: 0 }));
  let numFiles = 0;
  let bytes = 0;
  let small = 0;
  let records: number | null = 0;
  const partitions = new Set<string>();
  for (const add of snap.activeFilesIterator()) {
    numFiles++;
    bytes += add.size;
    if (add.size < threshold) small++;
    const bucket = histogram.find((b) => b.upTo === null || add.size < b.upTo)!;
    bucket.files++;
    bucket.bytes += add.size;
    if (snap.partitionColumns.length) {
      partitions.add(JSON.stringify(snap.partitionColumns.map((c) => add.partitionValues[c] ?? null)));
    }
    if (records !== null) {
      const n = numRecordsOf(add.stats);
      records = n === null ? null : records + n;
    }
  }
  const md = snap.metadata;
  return {
    location: store.root,
    version: snap.version,
    timestamp: new Date(snap.timestamp).toISOString(),
    id: md.id,
    name: md.name ?? null,
    description: md.description ?? null,
    createdTime: typeof md.createdTime === 'number' ? new Date(md.createdTime).toISOString() : null,
    numFiles,
    sizeInBytes: bytes,
    numRecords: records,
    partitionColumns: snap.partitionColumns,
    numPartitions: snap.partitionColumns.length ? partitions.size : numFiles > 0 ? 1 : 0,
    schema: snap.schema,
    properties: snap.properties,
    protocol: {
      minReaderVersion: snap.protocol.minReaderVersion,
      minWriterVersion: snap.protocol.minWriterVersion,
      readerFeatures: [...readerFeatures(snap.protocol)].sort(),
      writerFeatures: [...writerFeatures(snap.protocol)].sort(),
    },
    smallFileThreshold: threshold,
    smallFiles: small,
    sizeHistogram: histogram,
    tombstones: snap.tombstones().length,
  };
}

/** `numRecords` from an add's stats JSON, without parsing the rest (stats can be large). */
export function numRecordsOf(stats: string | null | undefined): number | null {
  if (!stats) return null;
  const m = /"numRecords"\s*:\s*(\d+)/.exec(stats);
  return m ? Number(m[1]) : null;
}
