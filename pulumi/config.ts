/**
 * The stack configuration of the lakehouse program (`lakehouse:*` keys in `Pulumi.<stack>.yaml`),
 * validated in one place: a wrong key fails `pulumi preview` with the key's path and what to do.
 */
import * as pulumi from '@pulumi/pulumi';
import { z } from 'zod';
import { LakehouseError } from '../lib/errors.js';
import { ZONES } from '../lib/spec/index.js';

const zone = z.enum(ZONES);
const days = z.union([z.number().int().min(0), z.literal(false)]);
const zoneLifecycle = z
  .object({
    coolAfterDays: days,
    coldAfterDays: days,
    noncurrentVersionExpirationDays: days,
    expirationDays: days,
    abortIncompleteMultipartUploadDays: days,
  })
  .partial()
  .strict();

const role = z.union([z.literal(false), z.object({ zones: z.array(zone).optional() }).strict()]);
const operator = z
  .object({
    zones: z.array(zone).optional(),
    namespace: z.string().min(1).optional(),
    serviceAccount: z.string().min(1).optional(),
  })
  .strict();

const azure = z
  .object({
    location: z.string().min(1).optional(),
    resourceGroupName: z.string().min(1).optional(),
    storageAccountName: z
      .string()
      .regex(/^[a-z0-9]{3,24}$/, '3 to 24 lowercase letters and digits')
      .optional(),
    sku: z.string().min(1).optional(),
    allowSharedKeyAccess: z.boolean().optional(),
    network: z
      .object({
        defaultAction: z.enum(['Allow', 'Deny']).optional(),
        allowedSubnetIds: z.array(z.string().min(1)).optional(),
        allowedIpRanges: z.array(z.string().min(1)).optional(),
      })
      .strict()
      .optional(),
    customerManagedKey: z
      .object({
        keyVaultId: z.string().min(1),
        keyVaultUri: z.url(),
        keyName: z.string().min(1),
        keyVersion: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    softDeleteRetentionDays: z.number().int().min(1).max(365).optional(),
    containerSoftDeleteRetentionDays: z.number().int().min(1).max(365).optional(),
    hiveMetastore: z
      .union([
        z.literal(false),
        z
          .object({
            skuName: z.string().min(1).optional(),
            skuTier: z.enum(['Burstable', 'GeneralPurpose', 'MemoryOptimized']).optional(),
            storageGb: z.number().int().min(32).optional(),
            backupRetentionDays: z.number().int().min(7).max(35).optional(),
            geoRedundantBackup: z.boolean().optional(),
            highAvailability: z.boolean().optional(),
            delegatedSubnetId: z.string().min(1).optional(),
            privateDnsZoneId: z.string().min(1).optional(),
          })
          .strict(),
      ])
      .optional(),
    unityCatalog: z.boolean().optional(),
  })
  .strict();

const gcp = z
  .object({
    project: z.string().min(1).optional(),
    location: z.string().min(1).optional(),
    kmsKeyName: z.string().startsWith('projects/').optional(),
    accessLogBucket: z.string().min(1).optional(),
    softDeleteRetentionDays: z
      .number()
      .int()
      .refine((d) => d === 0 || (d >= 7 && d <= 90), { error: 'GCS soft delete is 0 (off) or 7 to 90 days' })
      .optional(),
  })
  .strict();

/** Every `lakehouse:*` key the program reads. */
export const StackConfigSchema = z
  .object({
    cloud: z.enum(['azure', 'gcp']),
    namePrefix: z.string().optional(),
    zones: z.array(zone).min(1).optional(),
    lifecycle: z.partialRecord(zone, zoneLifecycle).optional(),
    tablesDir: z.string().min(1).optional(),
    removalPolicy: z.enum(['retain', 'destroy']).optional(),
    removeDataOnDestroy: z.boolean().optional(),
    reader: role.optional(),
    writer: role.optional(),
    operator: operator.optional(),
    /** The AKS cluster the operator runs in: workload identity through its OIDC issuer. */
    aks: z.object({ oidcIssuerUrl: z.url() }).strict().optional(),
    /** The GKE cluster the operator runs in: workload identity through its project's pool. */
    gke: z
      .object({
        workloadPool: z
          .string()
          .regex(/\.svc\.id\.goog$/, 'a pool is <cluster project>.svc.id.goog')
          .optional(),
      })
      .strict()
      .optional(),
    azure: azure.optional(),
    gcp: gcp.optional(),
  })
  .strict();

export type StackConfig = z.infer<typeof StackConfigSchema>;

/** The top-level keys of {@link StackConfigSchema}. */
const KEYS = Object.keys(StackConfigSchema.shape) as (keyof StackConfig)[];

/**
 * Validates raw config values (objects, or JSON text as the Pulumi config store keeps them).
 * Throws `INVALID_ARGUMENT` listing each bad key as `lakehouse:<path>: <problem>`.
 */
export function parseStackConfig(raw: Record<string, unknown>): StackConfig {
  const decoded: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    decoded[key] = typeof value === 'string' ? decodeConfigValue(value) : value;
  }
  const result = StackConfigSchema.safeParse(decoded);
  if (!result.success) {
    const lines = result.error.issues.map((i) => {
      const [first, ...rest] = i.path.map(String);
      const where = first === undefined ? 'lakehouse' : `lakehouse:${[first, ...rest].join('.')}`;
      return `  ${where}: ${i.message}`;
    });
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `stack config is not valid:\n${lines.join('\n')}\nFix it with "pulumi config set --path 'lakehouse:<key>' <value>" or in Pulumi.<stack>.yaml.`,
    );
  }
  return result.data;
}

/** Pulumi keeps every config value as text; objects, arrays, numbers and booleans as JSON. */
function decodeConfigValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Reads and validates the `lakehouse:*` keys of the current stack. */
export function loadStackConfig(): StackConfig {
  const cfg = new pulumi.Config('lakehouse');
  const raw: Record<string, unknown> = {};
  for (const key of KEYS) raw[key] = cfg.get(key);
  return parseStackConfig(raw);
}
