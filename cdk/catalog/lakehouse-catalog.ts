import { Annotations, Stack, Token, type RemovalPolicy } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lakeformation from 'aws-cdk-lib/aws-lakeformation';
import { Construct } from 'constructs';
import { LakehouseError } from '../../lib/errors.js';
import {
  LAKETABLE_DEFAULTS,
  catalogNames,
  deltaTypeToHiveType,
  resolvedColumns,
  type LakeTable,
} from '../../lib/spec/index.js';
import { grantZone, type AccessLevel } from '../access/lakehouse-access.js';
import { acknowledgeNag } from '../compliance.js';
import type { LakehouseZone } from '../defaults.js';
import { resolveRemovalPolicy } from '../removal-policy.js';
import type { LakehouseStorage } from '../storage/lakehouse-storage.js';
import { requireZone, zoneTables } from '../tables.js';
import type { LakehouseCatalogProps } from './lakehouse-catalog-props.js';

/**
 * The Glue table parameters that make a table a Delta table for Athena (engine v3 reads
 * `table_type=DELTA` natively from the log) and for Spark (`spark.sql.sources.provider=delta`
 * with the `path` SerDe parameter); the schema and partitions are also written out so catalogs,
 * Lake Formation column permissions and Hive-aware tools see them.
 */
export const DELTA_TABLE_PARAMETERS: Readonly<Record<string, string>> = {
  EXTERNAL: 'TRUE',
  table_type: 'DELTA',
  'spark.sql.sources.provider': 'delta',
  classification: 'delta',
};

/** Glue catalog actions, per access level. */
export const GLUE_ACTIONS: Readonly<Record<AccessLevel, readonly string[]>> = {
  read: [
    'glue:GetDatabase',
    'glue:GetDatabases',
    'glue:GetTable',
    'glue:GetTables',
    'glue:GetPartition',
    'glue:GetPartitions',
    'glue:BatchGetPartition',
  ],
  write: [
    'glue:GetDatabase',
    'glue:GetDatabases',
    'glue:GetTable',
    'glue:GetTables',
    'glue:GetPartition',
    'glue:GetPartitions',
    'glue:BatchGetPartition',
  ],
  maintain: [
    'glue:GetDatabase',
    'glue:GetDatabases',
    'glue:GetTable',
    'glue:GetTables',
    'glue:GetPartition',
    'glue:GetPartitions',
    'glue:BatchGetPartition',
    'glue:UpdateTable',
  ],
};

/** Lake Formation permissions on every table of a database, per access level. */
export const LAKE_FORMATION_TABLE_PERMISSIONS: Readonly<Record<AccessLevel, readonly string[]>> = {
  read: ['SELECT', 'DESCRIBE'],
  write: ['SELECT', 'DESCRIBE', 'INSERT'],
  maintain: ['SELECT', 'DESCRIBE', 'INSERT', 'DELETE', 'ALTER'],
};

/** One table this construct registered. */
export interface RegisteredTable {
  /** `metadata.name` of the LakeTable. */
  readonly name: string;
  readonly database: string;
  readonly table: string;
  readonly location: string;
  /** The zone, for a zone + path table. */
  readonly zone?: LakehouseZone;
}

const PARQUET_INPUT = 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat';
const PARQUET_OUTPUT = 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat';
const PARQUET_SERDE = 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe';

/**
 * The Glue Data Catalog of a lakehouse: one database per zone (`<prefix>_<zone>`, located at the
 * zone bucket) and one table per LakeTable document, registered so Athena (engine v3,
 * `table_type=DELTA`) and Spark (`spark.sql.sources.provider=delta`) read it as Delta: columns
 * and partition keys from the spec (Hive types), the table location, the SerDe `path`.
 *
 * A LakeTable's `catalog.database` (default: its zone) names the database `<prefix>_<database>`,
 * created when it is not a zone database; `catalog.table` (default: the name with `_`) the table.
 * Documents with `catalog.enabled: false`, of another storage, or located outside S3 are left out.
 *
 * In Lake Formation mode the databases grant nothing to IAMAllowedPrincipals, {@link grantAccess}
 * adds Lake Formation permissions, and the zone buckets are registered as data locations.
 *
 * @example
 * const tables = await loadLakeTables('examples/lakehouse');
 * const catalog = new LakehouseCatalog(stack, 'Catalog', { storage, tables });
 */
export class LakehouseCatalog extends Construct {
  /** The prefix of every database name. */
  readonly databasePrefix: string;
  /** Whether Lake Formation permission mode is on. */
  readonly lakeFormation: boolean;
  /** The tables registered, in document order. */
  readonly tables: readonly RegisteredTable[];
  /** The Lake Formation data-access role registered for the zone buckets (Lake Formation mode). */
  readonly dataAccessRole?: iam.Role;

  private readonly storage: LakehouseStorage;
  private readonly databases = new Map<string, glue.CfnDatabase>();
  private readonly tableResources: glue.CfnTable[] = [];
  private readonly removalPolicy: RemovalPolicy;

  constructor(scope: Construct, id: string, props: LakehouseCatalogProps) {
    super(scope, id);
    this.storage = props.storage;
    this.databasePrefix = props.databasePrefix ?? props.storage.namePrefix.replace(/-/g, '_');
    if (!/^[a-z][a-z0-9_]*$/.test(this.databasePrefix)) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `databasePrefix "${this.databasePrefix}" is not a Glue name: use lowercase letters, digits and _`,
      );
    }
    this.lakeFormation = props.lakeFormation !== undefined && props.lakeFormation !== false;
    this.removalPolicy = resolveRemovalPolicy(this, props.removalPolicy);

    for (const zone of this.storage.zones) {
      this.database(zone, this.storage.zoneUri(zone));
    }

    const storageName = props.storageName ?? LAKETABLE_DEFAULTS.storage;
    const inStorage = new Map(zoneTables(props.tables ?? [], storageName).map((t) => [t.table, t]));
    const registered: RegisteredTable[] = [];
    const seen = new Map<string, string>();
    for (const table of props.tables ?? []) {
      const names = catalogNames(table);
      if (!names.enabled) continue;
      const zoned = inStorage.get(table);
      let location: string;
      if (zoned !== undefined) {
        requireZone(zoned, this.storage.zones);
        location = this.storage.zoneUri(zoned.zone, zoned.path);
      } else if (table.spec.location?.startsWith('s3://')) {
        location = table.spec.location.replace(/\/+$/, '');
      } else {
        Annotations.of(this).addInfo(
          `LakeTable "${table.metadata.name}" is not registered here: it lives ` +
            (table.spec.location !== undefined
              ? `at ${table.spec.location}, outside S3`
              : `in storage "${table.spec.storage ?? LAKETABLE_DEFAULTS.storage}", not "${storageName}"`),
        );
        continue;
      }
      const database = `${this.databasePrefix}_${names.database}`;
      const key = `${database}.${names.table}`;
      const other = seen.get(key);
      if (other !== undefined) {
        throw new LakehouseError(
          'INVALID_SPEC',
          `LakeTables "${other}" and "${table.metadata.name}" both register the Glue table ${key}; ` +
            `give one of them another catalog.table or catalog.database`,
        );
      }
      seen.set(key, table.metadata.name);
      this.tableResources.push(this.registerTable(table, database, names.table, location));
      registered.push({
        name: table.metadata.name,
        database,
        table: names.table,
        location,
        ...(zoned ? { zone: zoned.zone } : {}),
      });
    }
    this.tables = registered;

    const lf = typeof props.lakeFormation === 'object' ? props.lakeFormation : {};
    if (this.lakeFormation && (lf.registerLocations ?? true)) {
      this.dataAccessRole = new iam.Role(this, 'LakeFormationDataAccessRole', {
        description: `Lake Formation data access to the zones of ${this.storage.namePrefix}`,
        assumedBy: new iam.ServicePrincipal('lakeformation.amazonaws.com'),
      });
      for (const zone of this.storage.zones) {
        grantZone(this.dataAccessRole, this.storage, { zone }, 'maintain');
        new lakeformation.CfnResource(this, `${title(zone)}Location`, {
          resourceArn: this.storage.bucket(zone).bucketArn,
          useServiceLinkedRole: false,
          roleArn: this.dataAccessRole.roleArn,
        });
      }
    }
  }

  /** The Glue database names, zone databases first. */
  get databaseNames(): string[] {
    return [...this.databases.keys()];
  }

  /** The Glue database of a zone. */
  zoneDatabaseName(zone: LakehouseZone): string {
    if (!this.storage.hasZone(zone)) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `zone "${zone}" has no database: the storage does not create it`,
      );
    }
    return `${this.databasePrefix}_${zone}`;
  }

  /**
   * Lets `role` use the catalog entries of `zones` at `level`: Glue actions on the catalog, the
   * zones' databases (and any other database holding their tables) and their tables; in Lake
   * Formation mode also `lakeformation:GetDataAccess` and Lake Formation permissions on those
   * databases and all their tables.
   */
  grantAccess(role: iam.Role, zones: readonly LakehouseZone[], level: AccessLevel): void {
    const stack = Stack.of(this);
    const dbNames = new Set(zones.map((z) => this.zoneDatabaseName(z)));
    for (const t of this.tables) if (t.zone !== undefined && zones.includes(t.zone)) dbNames.add(t.database);
    const databases = [...dbNames];
    // cdk-nag names a finding by the ARN with each pseudo parameter written as <AWS::Name>.
    const nagRegion = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    const nagAccount = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
    const arn = (resource: string): string =>
      stack.formatArn({ service: 'glue', resource, resourceName: undefined, arnFormat: undefined });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'GlueCatalog',
        actions: [...GLUE_ACTIONS[level]],
        resources: [
          arn('catalog'),
          ...databases.map((db) => `${arn('database')}/${db}`),
          ...databases.map((db) => `${arn('table')}/${db}/*`),
        ],
      }),
    );
    for (const db of databases) {
      acknowledgeNag(
        role,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:glue:${nagRegion}:${nagAccount}:table/${db}/*]`,
        `Every table of the Glue database ${db}: the tables come and go with LakeTable documents, the database is fixed.`,
      );
    }
    if (!this.lakeFormation) return;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'LakeFormationDataAccess',
        actions: ['lakeformation:GetDataAccess'],
        resources: ['*'],
      }),
    );
    acknowledgeNag(
      role,
      'AwsSolutions-IAM5[Resource::*]',
      'lakeformation:GetDataAccess supports no resource-level permissions; Lake Formation grants decide what it returns.',
    );
    for (const db of databases) {
      const principal = { dataLakePrincipalIdentifier: role.roleArn };
      const onDatabase = new lakeformation.CfnPrincipalPermissions(this, `Grant-${role.node.id}-${db}`, {
        principal,
        resource: { database: { catalogId: stack.account, name: db } },
        permissions: ['DESCRIBE'],
        permissionsWithGrantOption: [],
      });
      const onTables = new lakeformation.CfnPrincipalPermissions(this, `Grant-${role.node.id}-${db}-tables`, {
        principal,
        resource: { table: { catalogId: stack.account, databaseName: db, tableWildcard: {} } },
        permissions: [...LAKE_FORMATION_TABLE_PERMISSIONS[level]],
        permissionsWithGrantOption: [],
      });
      const database = this.databases.get(db);
      if (database) {
        onDatabase.addResourceDependency(database);
        onTables.addResourceDependency(database);
      }
      for (const table of this.tableResources) onTables.addResourceDependency(table);
    }
  }

  private database(name: string, locationUri?: string): glue.CfnDatabase {
    const full = `${this.databasePrefix}_${name}`;
    const existing = this.databases.get(full);
    if (existing) return existing;
    const db = new glue.CfnDatabase(this, `Database-${name}`, {
      catalogId: Stack.of(this).account,
      databaseInput: {
        name: full,
        description: `lakehouse ${this.storage.namePrefix}: ${name}`,
        ...(locationUri !== undefined ? { locationUri } : {}),
        // Lake Formation mode: no IAMAllowedPrincipals default, so Lake Formation grants decide.
        ...(this.lakeFormation ? { createTableDefaultPermissions: [] } : {}),
      },
    });
    db.applyRemovalPolicy(this.removalPolicy);
    this.databases.set(full, db);
    return db;
  }

  private registerTable(table: LakeTable, database: string, name: string, location: string): glue.CfnTable {
    const db = this.database(database.slice(this.databasePrefix.length + 1));
    const columns = resolvedColumns(table);
    const column = (c: (typeof columns)[number]): glue.CfnTable.ColumnProperty => ({
      name: c.name,
      type: deltaTypeToHiveType(c.type),
      ...(c.comment !== undefined ? { comment: c.comment } : {}),
    });
    const partitionBy = table.spec.partitionBy ?? [];
    const byName = new Map(columns.map((c) => [c.name, c]));
    const cfn = new glue.CfnTable(this, `Table-${database}-${name}`, {
      catalogId: Stack.of(this).account,
      databaseName: database,
      tableInput: {
        name,
        tableType: 'EXTERNAL_TABLE',
        parameters: { ...DELTA_TABLE_PARAMETERS, 'lakehouse.dev/laketable': table.metadata.name },
        partitionKeys: partitionBy.map((p) => column(byName.get(p)!)),
        storageDescriptor: {
          location,
          columns: columns.filter((c) => !c.partition).map(column),
          inputFormat: PARQUET_INPUT,
          outputFormat: PARQUET_OUTPUT,
          serdeInfo: {
            serializationLibrary: PARQUET_SERDE,
            parameters: { path: location, 'serialization.format': '1' },
          },
        },
      },
    });
    cfn.addResourceDependency(db);
    return cfn;
  }
}

function title(zone: string): string {
  return zone.charAt(0).toUpperCase() + zone.slice(1);
}
