/**
 * Deterministic, length-checked names. Every function throws `INVALID_ARGUMENT` saying which
 * name is too long and by how much, so `pulumi preview` fails before the cloud does.
 */
import { createHash } from 'node:crypto';
import { LakehouseError } from '../lib/errors.js';

/** A name prefix: lowercase letters, digits and single hyphens, starting with a letter. */
const NAME_PREFIX = /^[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*$/;

/** Checks a name prefix; throws `INVALID_ARGUMENT` saying what is allowed. */
export function checkNamePrefix(namePrefix: string): void {
  if (!NAME_PREFIX.test(namePrefix)) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `name prefix "${namePrefix}" is not valid: use lowercase letters, digits and single hyphens, ` +
        `starting with a letter (it becomes part of storage, bucket and dataset names)`,
    );
  }
}

function tooLong(what: string, name: string, max: number, fix: string): never {
  throw new LakehouseError(
    'INVALID_ARGUMENT',
    `${what} "${name}" has ${name.length} characters, more than the ${max} allowed: ${fix}`,
  );
}

/** A short stable hash (lowercase hex) of the parts, for globally unique names. */
export function shortHash(length: number, ...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, length);
}

/** Azure storage account names: 3 to 24 lowercase letters and digits, globally unique. */
export const MAX_STORAGE_ACCOUNT_NAME_LENGTH = 24;

/**
 * The storage account name: the prefix without hyphens, then 6 hex characters of a hash of the
 * prefix and the stack (DNS names are global, so two stacks with one prefix must differ).
 */
export function storageAccountName(namePrefix: string, stack: string): string {
  checkNamePrefix(namePrefix);
  const name = `${namePrefix.replace(/-/g, '')}${shortHash(6, namePrefix, stack)}`;
  if (name.length > MAX_STORAGE_ACCOUNT_NAME_LENGTH) {
    tooLong(
      'storage account name',
      name,
      MAX_STORAGE_ACCOUNT_NAME_LENGTH,
      `shorten the name prefix "${namePrefix}" by ${name.length - MAX_STORAGE_ACCOUNT_NAME_LENGTH} characters ` +
        `or set lakehouse:azure.storageAccountName`,
    );
  }
  return name;
}

/** The Azure PostgreSQL Flexible Server name (3 to 63 characters, part of a global DNS name). */
export function postgresServerName(namePrefix: string, stack: string): string {
  checkNamePrefix(namePrefix);
  const name = `${namePrefix}-hms-${shortHash(6, namePrefix, stack)}`;
  if (name.length > 63) tooLong('PostgreSQL server name', name, 63, 'shorten the name prefix');
  return name;
}

/** GCS bucket names are 3 to 63 characters (without dots). */
export const MAX_BUCKET_NAME_LENGTH = 63;

/** The bucket of a zone: `<prefix>-<zone>-<project>`, unique because project ids are. */
export function bucketName(namePrefix: string, zone: string, project: string): string {
  checkNamePrefix(namePrefix);
  const name = `${namePrefix}-${zone}-${project}`;
  if (name.length > MAX_BUCKET_NAME_LENGTH) {
    tooLong(
      'bucket name',
      name,
      MAX_BUCKET_NAME_LENGTH,
      `shorten the name prefix "${namePrefix}" by ${name.length - MAX_BUCKET_NAME_LENGTH} characters`,
    );
  }
  return name;
}

/** GCP service account ids: 6 to 30 characters. */
export const MAX_SERVICE_ACCOUNT_ID_LENGTH = 30;

/** The service account id of a role (`lakehouse-dev-reader`). */
export function serviceAccountId(namePrefix: string, role: string): string {
  checkNamePrefix(namePrefix);
  const name = `${namePrefix}-${role}`;
  if (name.length > MAX_SERVICE_ACCOUNT_ID_LENGTH) {
    tooLong(
      'service account id',
      name,
      MAX_SERVICE_ACCOUNT_ID_LENGTH,
      `shorten the name prefix "${namePrefix}" by ${name.length - MAX_SERVICE_ACCOUNT_ID_LENGTH} characters`,
    );
  }
  return name;
}

/**
 * The catalog database of a zone: the prefix with `_` for `-`, then the zone
 * (`lakehouse_dev_raw`), as the CDK names its Glue databases. Also a valid BigQuery dataset id.
 */
export function catalogDatabaseName(namePrefix: string, zone: string): string {
  checkNamePrefix(namePrefix);
  return `${namePrefix.replace(/-/g, '_')}_${zone}`;
}

/**
 * A deterministic GUID (name-based, SHA-1, RFC 9562 version 5 layout) from the parts. Azure role
 * assignment names must be GUIDs; deriving them from scope, principal and role makes a re-run
 * produce the same name, so a retry never creates a duplicate assignment.
 */
export function deterministicGuid(...parts: string[]): string {
  const bytes = createHash('sha1').update(parts.join('\u0000')).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
