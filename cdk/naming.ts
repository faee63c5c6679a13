import { Stack, Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { LakehouseError } from '../lib/errors.js';

/** S3 bucket names are 3 to 63 characters. */
export const MAX_BUCKET_NAME_LENGTH = 63;
/** Account ids are 12 digits. */
const ACCOUNT_ID_LENGTH = 12;
/**
 * The longest region name we plan for when the region is only known at deploy time (an
 * environment-agnostic stack): `us-isof-south-1` has 15 characters.
 */
const MAX_REGION_LENGTH = 15;

/** A name prefix: lowercase letters, digits and single hyphens, starting with a letter. */
const NAME_PREFIX = /^[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*$/;

/** Checks a name prefix; throws `INVALID_ARGUMENT` saying what is allowed. */
export function checkNamePrefix(namePrefix: string): void {
  if (!NAME_PREFIX.test(namePrefix)) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `name prefix "${namePrefix}" is not valid: use lowercase letters, digits and single hyphens, ` +
        `starting with a letter (it becomes part of bucket and Glue database names)`,
    );
  }
}

/**
 * The deterministic name of a bucket: `<prefix>-<purpose>-<account>-<region>`, unique per
 * account and region, stable across deployments. Throws `INVALID_ARGUMENT` when the name could
 * exceed 63 characters; when the account or region are deploy-time tokens, the check assumes the
 * longest values (12 and 15 characters), so a name that passes here always fits.
 */
export function bucketName(scope: IConstruct, namePrefix: string, purpose: string): string {
  checkNamePrefix(namePrefix);
  const stack = Stack.of(scope);
  const accountLength = Token.isUnresolved(stack.account) ? ACCOUNT_ID_LENGTH : stack.account.length;
  const regionLength = Token.isUnresolved(stack.region) ? MAX_REGION_LENGTH : stack.region.length;
  const length = namePrefix.length + 1 + purpose.length + 1 + accountLength + 1 + regionLength;
  if (length > MAX_BUCKET_NAME_LENGTH) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `bucket name "${namePrefix}-${purpose}-<account>-<region>" can be ${length} characters, ` +
        `more than S3's ${MAX_BUCKET_NAME_LENGTH}: shorten the name prefix "${namePrefix}" by ` +
        `${length - MAX_BUCKET_NAME_LENGTH} characters`,
    );
  }
  return `${namePrefix}-${purpose}-${stack.account}-${stack.region}`;
}

/** The Glue database of a zone: the prefix with `_` for `-`, then the zone (`lakehouse_dev_raw`). */
export function glueDatabaseName(namePrefix: string, zone: string): string {
  checkNamePrefix(namePrefix);
  return `${namePrefix.replace(/-/g, '_')}_${zone}`;
}
