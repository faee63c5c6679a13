/**
 * The configuration of the lakehouse app (`cdk/bin/app.ts`): one environment per stack, read
 * from a config file (`-c lakehouse:config=path.yaml`), the `lakehouse` object in cdk.json's
 * context, and single `-c lakehouse:<key>=value` overrides, in that order (later wins).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { App } from 'aws-cdk-lib';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { LakehouseError } from '../../lib/errors.js';
import { ZONES } from '../../lib/spec/index.js';

/** Context key of the config file path (YAML or JSON), relative to the working directory. */
export const CONFIG_FILE_CONTEXT = 'lakehouse:config';
/** Context key of the config object (in cdk.json). */
export const CONFIG_CONTEXT = 'lakehouse';
/** Context keys accepted as single overrides (`-c lakehouse:env=prod`). */
export const OVERRIDE_KEYS = [
  'env',
  'account',
  'region',
  'namePrefix',
  'tablesDir',
  'removalPolicy',
] as const;

const zone = z.enum(ZONES);
const days = z.union([z.int().min(0), z.literal(false)]);
const zoneLifecycle = z.strictObject({
  intelligentTieringAfterDays: days.optional(),
  glacierInstantRetrievalAfterDays: days.optional(),
  noncurrentVersionExpirationDays: days.optional(),
  expirationDays: days.optional(),
  abortIncompleteMultipartUploadDays: z.int().min(1).optional(),
});
const grant = z.union([
  zone,
  z.strictObject({ zone, prefixes: z.array(z.string().min(1)).min(1).optional() }),
]);
const role = z.union([z.literal(false), z.strictObject({ zones: z.array(grant).optional() })]);

/** The app configuration; every field optional, defaults in LAKEHOUSE_DEFAULTS and below. */
export const AppConfigSchema = z.strictObject({
  /** Environment name: part of the stack name and the default name prefix. */
  env: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,19}$/, {
      error: 'env is lowercase letters, digits and "-", at most 20 characters',
    })
    .optional(),
  /** Target account and region; without them the stack is environment-agnostic. */
  account: z
    .string()
    .regex(/^[0-9]{12}$/, { error: 'account is a 12-digit AWS account id' })
    .optional(),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-[0-9]$/, { error: 'region is an AWS region name such as eu-west-1' })
    .optional(),
  namePrefix: z.string().optional(),
  zones: z.array(zone).optional(),
  lifecycle: z.partialRecord(zone, zoneLifecycle).optional(),
  /** Folder of LakeTable documents, relative to the working directory. */
  tablesDir: z.string().optional(),
  accessLogs: z
    .strictObject({
      bucketName: z.string().optional(),
      prefix: z.string().optional(),
      expirationDays: z.int().min(1).optional(),
    })
    .optional(),
  removalPolicy: z.enum(['retain', 'destroy']).optional(),
  lakeFormation: z
    .union([z.boolean(), z.strictObject({ registerLocations: z.boolean().optional() })])
    .optional(),
  reader: role.optional(),
  writer: role.optional(),
  operator: z
    .strictObject({
      zones: z.array(grant).optional(),
      namespace: z.string().optional(),
      serviceAccount: z.string().optional(),
    })
    .optional(),
  /** The EKS cluster the operator runs in. */
  eks: z
    .strictObject({
      /** IRSA: the cluster's OIDC issuer URL. */
      oidcIssuerUrl: z.string().optional(),
      /** IRSA: an existing IAM OIDC provider for that issuer. */
      oidcProviderArn: z.string().optional(),
      /** EKS Pod Identity: the cluster name. */
      clusterName: z.string().optional(),
      /** `irsa`, `pod-identity` or `both`. Default: whichever is configured. */
      identity: z.enum(['irsa', 'pod-identity', 'both']).optional(),
    })
    .optional(),
});
export type AppConfig = z.infer<typeof AppConfigSchema>;

/** Defaults of the app (the construct defaults live in LAKEHOUSE_DEFAULTS). */
export const APP_DEFAULTS = {
  env: 'dev',
  tablesDir: 'examples/lakehouse',
} as const;

/** Reads the configuration from the app's context (and the file it names); throws `INVALID_ARGUMENT`. */
export function readAppConfig(app: App): AppConfig {
  const merged: Record<string, unknown> = {};
  const file = app.node.tryGetContext(CONFIG_FILE_CONTEXT) as unknown;
  if (file !== undefined) {
    if (typeof file !== 'string')
      throw new LakehouseError('INVALID_ARGUMENT', `${CONFIG_FILE_CONTEXT} must be a file path`);
    Object.assign(merged, readConfigFile(file));
  }
  const object = app.node.tryGetContext(CONFIG_CONTEXT) as unknown;
  if (object !== undefined) {
    if (typeof object !== 'object' || object === null || Array.isArray(object)) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `context "${CONFIG_CONTEXT}" must be an object of settings`,
      );
    }
    Object.assign(merged, object);
  }
  for (const key of OVERRIDE_KEYS) {
    const value = app.node.tryGetContext(`lakehouse:${key}`) as unknown;
    if (value !== undefined) merged[key] = value;
  }
  return parseAppConfig(merged, 'lakehouse app config');
}

/** Validates a configuration object; the error lists every problem with its field. */
export function parseAppConfig(value: unknown, source: string): AppConfig {
  const result = AppConfigSchema.safeParse(value);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new LakehouseError('INVALID_ARGUMENT', `${source} is not valid:\n${lines.join('\n')}`);
  }
  return result.data;
}

function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(path.resolve(file), 'utf8');
  } catch (err) {
    throw new LakehouseError('NOT_FOUND', `config file ${file} cannot be read (${(err as Error).message})`, {
      cause: err,
    });
  }
  try {
    return file.endsWith('.json') ? (JSON.parse(text) as unknown) : (parseYaml(text) as unknown);
  } catch (err) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `config file ${file} is not valid: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}
