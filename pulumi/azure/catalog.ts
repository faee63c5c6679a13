import * as pulumi from '@pulumi/pulumi';
import * as dbforpostgresql from '@pulumi/azure-native/dbforpostgresql/index.js';
import * as databricks from '@pulumi/azure-native/databricks/index.js';
import { PULUMI_LAKEHOUSE_DEFAULTS } from '../defaults.js';
import { postgresServerName } from '../naming.js';
import { dataResourceOptions, resolveRemoval, type RemovalPolicy } from '../removal.js';
import type { CatalogTable } from '../tables.js';
import type { AzureLakehouseIdentity } from './access.js';
import type { LakehouseStorage } from './storage.js';
import { assignRole } from './roles.js';

/** The Hive Metastore database server. */
export interface HiveMetastoreOptions {
  /** @default PULUMI_LAKEHOUSE_DEFAULTS.azure.postgresSkuName */
  readonly skuName?: string;
  /** @default PULUMI_LAKEHOUSE_DEFAULTS.azure.postgresSkuTier */
  readonly skuTier?: string;
  /** @default PULUMI_LAKEHOUSE_DEFAULTS.azure.postgresStorageGb */
  readonly storageGb?: number;
  /** @default PULUMI_LAKEHOUSE_DEFAULTS.azure.postgresBackupRetentionDays */
  readonly backupRetentionDays?: number;
  /** @default false */
  readonly geoRedundantBackup?: boolean;
  /** @default false (true: a zone-redundant standby) */
  readonly highAvailability?: boolean;
  /**
   * A subnet delegated to `Microsoft.DBforPostgreSQL/flexibleServers` and its private DNS zone:
   * the server then lives in the VNet. Without them it has no public access either, and is
   * reached through a private endpoint you add.
   */
  readonly delegatedSubnetId?: string;
  readonly privateDnsZoneId?: string;
}

/** Options of {@link LakehouseCatalog} on Azure. */
export interface LakehouseCatalogArgs {
  readonly resourceGroupName: pulumi.Input<string>;
  readonly location?: pulumi.Input<string>;
  readonly subscriptionId: pulumi.Input<string>;
  readonly tenantId: pulumi.Input<string>;
  readonly storage: LakehouseStorage;
  /** The tables to register (from the LakeTable folder). */
  readonly tables: readonly CatalogTable[];
  /** Entra administrator of the metastore database: the operator, which registers the tables. */
  readonly operator: AzureLakehouseIdentity;
  /** @default PULUMI_LAKEHOUSE_DEFAULTS.namePrefix */
  readonly namePrefix?: string;
  /** A Hive Metastore database; `false` for none. @default {} (PULUMI_LAKEHOUSE_DEFAULTS.azure.hiveMetastore) */
  readonly hiveMetastore?: HiveMetastoreOptions | false;
  /** A Databricks Unity Catalog access connector. @default PULUMI_LAKEHOUSE_DEFAULTS.azure.unityCatalog */
  readonly unityCatalog?: boolean;
  /** As for storage: the metastore server and database are kept unless both keys say destroy. @default 'retain' */
  readonly removalPolicy?: RemovalPolicy;
}

/** How one LakeTable is registered: where it is, and the Spark SQL that registers it. */
export interface RegisteredTable {
  readonly name: string;
  readonly database: string;
  readonly table: string;
  readonly location: string;
  /** `CREATE TABLE IF NOT EXISTS … USING DELTA LOCATION …`: Spark with the Hive Metastore and Databricks (Unity Catalog) both take it. */
  readonly ddl: string;
}

/** The database inside the PostgreSQL server that holds the Hive Metastore schema. */
export const HIVE_METASTORE_DATABASE = 'hive_metastore';

/**
 * The catalog of the Azure lakehouse. A Hive Metastore database on Azure Database for
 * PostgreSQL Flexible Server (Entra ID sign-in only, no password, TLS 1.2+, no public network
 * access) that any engine reads (Spark, Trino, Hive, Flink, Databricks with an external
 * metastore), and optionally a Databricks Unity Catalog access connector with a managed identity
 * that may read and write the zone filesystems. ARM cannot write table entries into either
 * catalog, so each LakeTable becomes a {@link RegisteredTable}: its location and the one
 * statement that registers it, exported for the operator (or a job) to run.
 */
export class LakehouseCatalog extends pulumi.ComponentResource {
  readonly server?: dbforpostgresql.Server;
  readonly database?: dbforpostgresql.Database;
  readonly accessConnector?: databricks.AccessConnector;
  /** Host name of the metastore database server. */
  readonly metastoreHost?: pulumi.Output<string>;
  readonly tables: pulumi.Output<RegisteredTable[]>;
  /** `CREATE SCHEMA IF NOT EXISTS …` for each database the tables use, to run before their DDL. */
  readonly schemaDdl: pulumi.Output<string[]>;

  constructor(name: string, args: LakehouseCatalogArgs, opts?: pulumi.ComponentResourceOptions) {
    super('lakehouse:azure:LakehouseCatalog', name, {}, opts);
    const d = PULUMI_LAKEHOUSE_DEFAULTS;
    const namePrefix = args.namePrefix ?? d.namePrefix;
    const child: pulumi.CustomResourceOptions = { parent: this };
    const removal = resolveRemoval(args.removalPolicy, this);

    const hms = args.hiveMetastore ?? (d.azure.hiveMetastore ? {} : false);
    if (hms !== false) {
      const inVnet = hms.delegatedSubnetId !== undefined;
      this.server = new dbforpostgresql.Server(
        `${name}-metastore`,
        {
          resourceGroupName: args.resourceGroupName,
          location: args.location,
          serverName: postgresServerName(namePrefix, pulumi.getStack()),
          version: d.azure.postgresVersion,
          sku: { name: hms.skuName ?? d.azure.postgresSkuName, tier: hms.skuTier ?? d.azure.postgresSkuTier },
          storage: { storageSizeGB: hms.storageGb ?? d.azure.postgresStorageGb, autoGrow: 'Enabled' },
          authConfig: { activeDirectoryAuth: 'Enabled', passwordAuth: 'Disabled', tenantId: args.tenantId },
          backup: {
            backupRetentionDays: hms.backupRetentionDays ?? d.azure.postgresBackupRetentionDays,
            geoRedundantBackup: hms.geoRedundantBackup === true ? 'Enabled' : 'Disabled',
          },
          highAvailability: { mode: hms.highAvailability === true ? 'ZoneRedundant' : 'Disabled' },
          network: {
            publicNetworkAccess: 'Disabled',
            ...(inVnet && {
              delegatedSubnetResourceId: hms.delegatedSubnetId,
              privateDnsZoneArmResourceId: hms.privateDnsZoneId,
            }),
          },
        },
        dataResourceOptions(removal, child),
      );
      // Flexible Server applies one configuration change at a time: chain them.
      const tls = new dbforpostgresql.Configuration(
        `${name}-require-tls`,
        {
          resourceGroupName: args.resourceGroupName,
          serverName: this.server.name,
          configurationName: 'require_secure_transport',
          value: 'on',
          source: 'user-override',
        },
        child,
      );
      const tlsVersion = new dbforpostgresql.Configuration(
        `${name}-tls-min-version`,
        {
          resourceGroupName: args.resourceGroupName,
          serverName: this.server.name,
          configurationName: 'ssl_min_protocol_version',
          value: 'TLSv1.2',
          source: 'user-override',
        },
        { ...child, dependsOn: [tls] },
      );
      new dbforpostgresql.Administrator(
        `${name}-operator-admin`,
        {
          resourceGroupName: args.resourceGroupName,
          serverName: this.server.name,
          objectId: args.operator.principalId,
          principalName: args.operator.identity.name,
          principalType: 'ServicePrincipal',
          tenantId: args.tenantId,
        },
        { ...child, dependsOn: [tlsVersion] },
      );
      this.database = new dbforpostgresql.Database(
        `${name}-metastore-db`,
        {
          resourceGroupName: args.resourceGroupName,
          serverName: this.server.name,
          databaseName: HIVE_METASTORE_DATABASE,
          charset: 'UTF8',
          collation: 'en_US.utf8',
        },
        dataResourceOptions(removal, { ...child, dependsOn: [tlsVersion] }),
      );
      this.metastoreHost = this.server.fullyQualifiedDomainName;
    }

    if (args.unityCatalog ?? d.azure.unityCatalog) {
      this.accessConnector = new databricks.AccessConnector(
        `${name}-unity`,
        {
          resourceGroupName: args.resourceGroupName,
          location: args.location,
          connectorName: `${namePrefix}-unity-catalog`,
          identity: { type: 'SystemAssigned' },
        },
        child,
      );
      for (const [zone, filesystem] of args.storage.filesystems) {
        assignRole(
          `${name}-unity-${zone}`,
          {
            scope: filesystem.id,
            principalId: this.accessConnector.identity.apply((i) => i?.principalId ?? ''),
            role: 'Storage Blob Data Contributor',
            subscriptionId: args.subscriptionId,
            description: `Unity Catalog access connector: external location on the ${zone} filesystem`,
          },
          child,
        );
      }
    }

    const accountName = args.storage.accountName;
    this.tables = accountName.apply((account) => registeredTables(args.tables, account));
    this.schemaDdl = this.tables.apply((tables) =>
      [...new Set(tables.map((t) => t.database))].map(
        (database) => `CREATE SCHEMA IF NOT EXISTS ${ident(database)}`,
      ),
    );
    this.registerOutputs({ tables: this.tables, metastoreHost: this.metastoreHost });
  }
}

/** Backquotes a Spark SQL identifier. */
function ident(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

/** The registration of each registrable table of the folder on `account`. */
export function registeredTables(tables: readonly CatalogTable[], account: string): RegisteredTable[] {
  const out: RegisteredTable[] = [];
  for (const t of tables) {
    if (!t.register) continue;
    let location: string;
    if (t.zone !== undefined && t.path !== undefined) {
      location = `abfss://${t.zone}@${account}.dfs.core.windows.net/${t.path.replace(/^\/+/, '')}`;
    } else if (t.location !== undefined && /^(abfss?|az):\/\//.test(t.location)) {
      location = t.location;
    } else {
      void pulumi.log.warn(
        `LakeTable ${t.name}: location ${t.location ?? '(none)'} is not on Azure storage; it is not registered in the Azure catalog`,
      );
      continue;
    }
    const ddl =
      `CREATE TABLE IF NOT EXISTS ${ident(t.database)}.${ident(t.table)} ` +
      `USING DELTA LOCATION '${location.replace(/'/g, "\\'")}'`;
    out.push({ name: t.name, database: t.database, table: t.table, location, ddl });
  }
  return out;
}
