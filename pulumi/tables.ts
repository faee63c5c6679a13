/**
 * The part of a LakeTable document the infrastructure needs: where the table lives and how it is
 * registered in a catalog. Built from the LakeTable documents of a folder by {@link loadCatalogTables}.
 */
import {
  LAKETABLE_DEFAULTS,
  catalogNames,
  loadLakeTables,
  resolvedColumns,
  type LakeTable,
  type Zone,
} from '../lib/spec/index.js';

/** One column as the catalog shows it. */
export interface CatalogColumn {
  readonly name: string;
  /** The Delta type as written in the LakeTable (`long`, `decimal(10,2)`, `array<string>`). */
  readonly type: string;
  readonly nullable: boolean;
  readonly comment?: string;
}

/** A table to register, and the data-file prefixes lifecycle rules may tier. */
export interface CatalogTable {
  /** `metadata.name` of the LakeTable. */
  readonly name: string;
  /** The zone, for a zone + path table; absent for a table given by `location` alone. */
  readonly zone?: Zone;
  /** Path inside the zone (no leading or trailing `/`), for a zone + path table. */
  readonly path?: string;
  /** The explicit `location` URI, for a table given that way. */
  readonly location?: string;
  /** Catalog database (dataset) the table is registered in. */
  readonly database: string;
  /** Catalog table name. */
  readonly table: string;
  readonly columns: readonly CatalogColumn[];
  readonly partitionBy: readonly string[];
  /** `spec.persistence`: ephemeral tables live in scratch and expire. */
  readonly persistence: 'durable' | 'ephemeral';
  /** Whether the LakeTable asks to be registered (`catalog.enabled`). */
  readonly register: boolean;
}

/**
 * The key prefixes (relative to the zone root) that hold a table's data files and nothing of its
 * `_delta_log/`: `<path>/<first partition column>=` for a partitioned table (every data file
 * lives in a partition directory), else `<path>/part-` (the name every Delta writer gives data
 * files). Deletion vectors and the log never match, so lifecycle rules limited to these
 * prefixes cannot touch what a reader needs to find the table's current version.
 */
export function dataFilePrefixes(table: CatalogTable): string[] {
  if (table.path === undefined) return [];
  const root = table.path.replace(/^\/+|\/+$/g, '');
  const base = root === '' ? '' : `${root}/`;
  const first = table.partitionBy[0];
  return first === undefined ? [`${base}part-`] : [`${base}${first}=`];
}

/** Tables grouped by zone (zone + path tables only), in the order given. */
export function tablesByZone(tables: readonly CatalogTable[]): Map<Zone, CatalogTable[]> {
  const byZone = new Map<Zone, CatalogTable[]>();
  for (const t of tables) {
    if (t.zone === undefined) continue;
    const list = byZone.get(t.zone) ?? [];
    list.push(t);
    byZone.set(t.zone, list);
  }
  return byZone;
}

/**
 * The catalog view of one LakeTable. A table in another storage than the stack's own
 * (`spec.storage` other than "default") is treated like a `location` table without a location:
 * the catalogs skip it with a warning.
 */
export function toCatalogTable(table: LakeTable): CatalogTable {
  const s = table.spec;
  const names = catalogNames(table);
  const ownStorage = (s.storage ?? LAKETABLE_DEFAULTS.storage) === LAKETABLE_DEFAULTS.storage;
  return {
    name: table.metadata.name,
    ...(s.zone !== undefined && ownStorage && { zone: s.zone }),
    ...(s.path !== undefined && ownStorage && { path: s.path }),
    ...(s.location !== undefined && { location: s.location }),
    database: names.database,
    table: names.table,
    columns: resolvedColumns(table).map((c) => ({
      name: c.name,
      type: c.typeText,
      nullable: c.nullable,
      ...(c.comment !== undefined && { comment: c.comment }),
    })),
    partitionBy: s.partitionBy ?? [],
    persistence: s.persistence ?? LAKETABLE_DEFAULTS.persistence,
    register: names.enabled,
  };
}

/** Loads and validates the LakeTable documents of a folder (throws INVALID_SPEC listing every issue). */
export async function loadCatalogTables(dir: string): Promise<CatalogTable[]> {
  return (await loadLakeTables(dir)).map(toCatalogTable);
}
