import type { RemovalPolicy } from 'aws-cdk-lib';
import type { LakeTable } from '../../lib/spec/index.js';
import type { LakehouseStorage } from '../storage/lakehouse-storage.js';

/** Lake Formation permission mode. */
export interface LakeFormationOptions {
  /**
   * Register the zone buckets as Lake Formation data locations (with a data-access role of this
   * construct) so Lake Formation can vend credentials for them.
   * @default true
   */
  readonly registerLocations?: boolean;
}

/** Options of {@link LakehouseCatalog}. */
export interface LakehouseCatalogProps {
  /** The zones whose databases and tables are registered. */
  readonly storage: LakehouseStorage;
  /**
   * The LakeTable documents to register (`loadLakeTables(folder)`): each zone + path table of
   * this storage, and each table whose `location` is an `s3://` URI, with `catalog.enabled`.
   * @default [] (databases only)
   */
  readonly tables?: readonly LakeTable[];
  /**
   * The LakeTable storage name of these buckets (`spec.storage`); tables of other storages are
   * not registered here.
   * @default LAKETABLE_DEFAULTS.storage ("default")
   */
  readonly storageName?: string;
  /**
   * Prefix of every Glue database name: a LakeTable's `catalog.database` (default: its zone)
   * becomes the database `<databasePrefix>_<database>`.
   * @default - the storage's name prefix with `-` as `_` (`lakehouse_dev`)
   */
  readonly databasePrefix?: string;
  /**
   * Lake Formation permission mode: databases get no IAMAllowedPrincipals default, access grants
   * become Lake Formation permissions (on top of the IAM ones), and the zone buckets are
   * registered as data locations. The deploying role must be a Lake Formation administrator.
   * `false`: IAM permissions only.
   * @default false
   */
  readonly lakeFormation?: LakeFormationOptions | boolean;
  /**
   * `DESTROY` deletes the Glue databases (metadata only, never data) on `cdk destroy`, but ONLY
   * if the context flag `lakehouse:removeDataOnDestroy` is `true` too. Table definitions follow
   * the documents: a document removed from the folder removes its Glue table.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}
