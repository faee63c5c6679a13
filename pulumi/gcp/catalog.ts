import * as pulumi from '@pulumi/pulumi';
import * as bigquery from '@pulumi/gcp/bigquery/index.js';
import * as storage from '@pulumi/gcp/storage/index.js';
import { PULUMI_LAKEHOUSE_DEFAULTS } from '../defaults.js';
import type { CatalogTable } from '../tables.js';
import type { GcpLakehouseIdentity } from './access.js';
import { GCS_READ_ROLE } from './access.js';
import type { LakehouseStorage } from './storage.js';

/** Options of {@link LakehouseCatalog} on GCP. */
export interface LakehouseCatalogArgs {
  readonly project: string;
  readonly storage: LakehouseStorage;
  /** The tables to register (from the LakeTable folder). */
  readonly tables: readonly CatalogTable[];
  /** Granted `bigquery.dataViewer` on the datasets. @default - nobody */
  readonly readers?: GcpLakehouseIdentity;
  /** @default PULUMI_LAKEHOUSE_DEFAULTS.namePrefix */
  readonly namePrefix?: string;
}

/** Why a LakeTable was left out of BigQuery. */
export interface SkippedTable {
  readonly name: string;
  readonly reason: string;
}

/** Reads as BigQuery reads a Delta table: the reason it cannot, or undefined. */
export function bigLakeDeltaLimitation(table: CatalogTable): string | undefined {
  const ntz = table.columns.find((c) => /\btimestamp_ntz\b/i.test(c.type));
  if (ntz !== undefined) {
    return `column ${ntz.name} is timestamp_ntz, which BigLake Delta Lake tables do not support`;
  }
  const badName = table.columns.find((c) => !/^[A-Za-z_][A-Za-z0-9_]{0,299}$/.test(c.name));
  if (badName !== undefined) return `column name "${badName.name}" is not a valid BigQuery column name`;
  if (!/^[\p{L}\p{M}\p{N}\p{Pc}\p{Pd}\p{Zs}]{1,1024}$/u.test(table.table)) {
    return `table name "${table.table}" is not a valid BigQuery table name`;
  }
  if (!/^[A-Za-z0-9_]{1,1024}$/.test(table.database)) {
    return `database "${table.database}" is not a valid BigQuery dataset id (letters, digits and _ only)`;
  }
  return undefined;
}

/**
 * The catalog of the GCP lakehouse: BigQuery datasets holding a BigLake Delta Lake table for
 * each LakeTable, read through one Cloud resource connection whose service account may read the
 * zone buckets (bucket-level `storage.objectViewer`), so querying users need no bucket access.
 * BigQuery reads the schema, partitions and current version from the table's `_delta_log/`
 * (schema changes the operator applies show up without a deploy). Datasets and tables hold
 * metadata only: deleting them leaves every object in the buckets.
 */
export class LakehouseCatalog extends pulumi.ComponentResource {
  readonly connection: bigquery.Connection;
  readonly datasets: ReadonlyMap<string, bigquery.Dataset>;
  readonly tables: ReadonlyMap<string, bigquery.Table>;
  readonly skipped: readonly SkippedTable[];

  constructor(name: string, args: LakehouseCatalogArgs, opts?: pulumi.ComponentResourceOptions) {
    super('lakehouse:gcp:LakehouseCatalog', name, {}, opts);
    const child: pulumi.CustomResourceOptions = { parent: this };
    const namePrefix = args.namePrefix ?? PULUMI_LAKEHOUSE_DEFAULTS.namePrefix;
    const location = args.storage.location;

    this.connection = new bigquery.Connection(
      `${name}-biglake`,
      {
        project: args.project,
        location,
        connectionId: `${namePrefix}-biglake`,
        friendlyName: `${namePrefix} lakehouse (BigLake Delta tables)`,
        cloudResource: {},
      },
      child,
    );
    const connectionMember = this.connection.cloudResource.apply(
      (c) => `serviceAccount:${c?.serviceAccountId ?? ''}`,
    );

    const skipped: SkippedTable[] = [];
    const registrable: { table: CatalogTable; uri: pulumi.Input<string> }[] = [];
    for (const table of args.tables) {
      if (!table.register) continue;
      let uri: pulumi.Input<string>;
      if (table.zone !== undefined && table.path !== undefined) {
        const bucket = args.storage.buckets.get(table.zone);
        if (bucket === undefined) {
          skipped.push({ name: table.name, reason: `zone ${table.zone} is not one of this stack's zones` });
          continue;
        }
        uri = pulumi.interpolate`gs://${bucket.name}/${table.path.replace(/^\/+|\/+$/g, '')}`;
      } else if (table.location?.startsWith('gs://') === true) {
        uri = table.location.replace(/\/+$/, '');
      } else {
        skipped.push({ name: table.name, reason: `location ${table.location ?? '(none)'} is not on GCS` });
        continue;
      }
      const limitation = bigLakeDeltaLimitation(table);
      if (limitation !== undefined) {
        skipped.push({ name: table.name, reason: limitation });
        continue;
      }
      registrable.push({ table, uri });
    }
    for (const s of skipped) {
      void pulumi.log.warn(`LakeTable ${s.name} is not registered in BigQuery: ${s.reason}`, this);
    }
    this.skipped = skipped;

    // The connection reads every zone that holds a registered table, and nothing else.
    const zonesRead = new Set(
      registrable.flatMap(({ table }) => (table.zone === undefined ? [] : [table.zone])),
    );
    for (const zone of zonesRead) {
      new storage.BucketIAMMember(
        `${name}-biglake-${zone}`,
        { bucket: args.storage.buckets.get(zone)!.name, role: GCS_READ_ROLE, member: connectionMember },
        child,
      );
    }

    const datasets = new Map<string, bigquery.Dataset>();
    for (const database of new Set(registrable.map(({ table }) => table.database))) {
      const dataset = new bigquery.Dataset(
        `${name}-${database}`,
        {
          project: args.project,
          datasetId: database,
          location,
          description: `lakehouse ${namePrefix}: Delta tables of the LakeTable folder`,
          deleteContentsOnDestroy: false,
          labels: { lakehouse: namePrefix },
        },
        child,
      );
      datasets.set(database, dataset);
      if (args.readers !== undefined) {
        new bigquery.DatasetIamMember(
          `${name}-${database}-readers`,
          {
            project: args.project,
            datasetId: dataset.datasetId,
            role: 'roles/bigquery.dataViewer',
            member: args.readers.account.member,
          },
          child,
        );
      }
    }
    this.datasets = datasets;

    const tables = new Map<string, bigquery.Table>();
    for (const { table, uri } of registrable) {
      tables.set(
        table.name,
        new bigquery.Table(
          `${name}-${table.database}-${table.table}`,
          {
            project: args.project,
            datasetId: datasets.get(table.database)!.datasetId,
            tableId: table.table,
            description: `Delta Lake table ${table.name} (LakeTable)`,
            // External table: dropping it deletes no data, so it never blocks a destroy.
            deletionProtection: false,
            labels: {
              lakehouse_table: table.name
                .toLowerCase()
                .replace(/[^a-z0-9_-]/g, '_')
                .slice(0, 63),
            },
            externalDataConfiguration: {
              sourceFormat: 'DELTA_LAKE',
              autodetect: true,
              connectionId: this.connection.name,
              sourceUris: [uri],
            },
          },
          child,
        ),
      );
    }
    this.tables = tables;
    this.registerOutputs({});
  }
}
