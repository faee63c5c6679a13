/**
 * What the AWS constructs need from LakeTable documents: the tables of one storage, the zone and
 * path each lives at, and the key prefixes that hold its data files and nothing of its log.
 */
import { LakehouseError } from '../lib/errors.js';
import { LAKETABLE_DEFAULTS, type LakeTable, type Zone } from '../lib/spec/index.js';

/** A zone + path table of the storage the stack builds. */
export interface ZoneTable {
  readonly table: LakeTable;
  readonly zone: Zone;
  /** Path inside the zone's bucket, no leading or trailing `/`. */
  readonly path: string;
}

/**
 * The tables that live in the zones of `storage` (default "default"): zone + path documents of
 * that storage. Tables given by `location`, or of another storage, are not stored here.
 */
export function zoneTables(
  tables: readonly LakeTable[],
  storage: string = LAKETABLE_DEFAULTS.storage,
): ZoneTable[] {
  const out: ZoneTable[] = [];
  for (const table of tables) {
    const s = table.spec;
    if (s.location !== undefined || s.zone === undefined || s.path === undefined) continue;
    if ((s.storage ?? LAKETABLE_DEFAULTS.storage) !== storage) continue;
    out.push({ table, zone: s.zone, path: s.path.replace(/^\/+|\/+$/g, '') });
  }
  return out;
}

/**
 * The key prefixes (relative to the bucket) that hold a table's data files and nothing of its
 * `_delta_log/`: `<path>/<first partition column>=` for a partitioned table (every data file
 * lives in a partition folder), else `<path>/part-` (the name Delta writers give data files).
 * Neither can match `<path>/_delta_log/`, so a lifecycle rule limited to them never touches the
 * log a reader needs to find the current version.
 */
export function dataFilePrefixes(t: ZoneTable): string[] {
  const first = t.table.spec.partitionBy?.[0];
  return [first === undefined ? `${t.path}/part-` : `${t.path}/${first}=`];
}

/** Throws `INVALID_SPEC` naming the document when a table needs a zone this stack does not create. */
export function requireZone(t: ZoneTable, zones: readonly Zone[]): void {
  if (!zones.includes(t.zone)) {
    throw new LakehouseError(
      'INVALID_SPEC',
      `LakeTable "${t.table.metadata.name}" lives in zone "${t.zone}", which this stack does not create ` +
        `(zones: ${zones.join(', ')}); add the zone or remove the table from the folder`,
    );
  }
}
