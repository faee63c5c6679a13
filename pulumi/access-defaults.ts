import { LakehouseError } from '../lib/errors.js';
import type { LakehouseZone } from './defaults.js';

/** The three kinds of principal the lakehouse grants storage access to. */
export const LAKEHOUSE_ROLES = ['reader', 'writer', 'operator'] as const;
export type LakehouseRole = (typeof LAKEHOUSE_ROLES)[number];

/** Which zones each role reaches when the component is not told otherwise (as the CDK roles). */
export const ACCESS_DEFAULTS = {
  /** Consumers read cleaned data and models, not raw arrivals or scratch. */
  readerZones: ['curated', 'models'] as readonly LakehouseZone[],
  /** Pipelines land raw data and write curated data. */
  writerZones: ['raw', 'curated'] as readonly LakehouseZone[],
  /** The operator maintains (compacts, vacuums) every zone of the storage. */
  operatorZones: 'every zone of the storage',
} as const;

/**
 * A role of `LakehouseAccess`: which zones it reaches. The same option as the CDK's
 * `LakehouseRoleOptions`, with whole zones only: IAM conditions cannot narrow GCS listing to a
 * prefix, so prefix grants are not offered on either cloud here.
 */
export interface LakehouseRoleOptions {
  /** @default ACCESS_DEFAULTS.<role>Zones, limited to the zones the storage creates */
  readonly zones?: readonly LakehouseZone[];
}

/** The Kubernetes service account the operator runs as (the subject of workload identity). */
export interface OperatorIdentityOptions {
  /** @default PULUMI_LAKEHOUSE_DEFAULTS.kubernetesNamespace */
  readonly namespace?: string;
  /** @default PULUMI_LAKEHOUSE_DEFAULTS.kubernetesServiceAccount */
  readonly serviceAccount?: string;
}

/**
 * The zones a role reaches: the ones it was given (each must be a zone of the storage, else
 * `INVALID_ARGUMENT`), or its defaults limited to the zones the storage creates.
 */
export function roleZones(
  role: LakehouseRole,
  given: readonly LakehouseZone[] | undefined,
  storageZones: readonly LakehouseZone[],
): LakehouseZone[] {
  if (given === undefined) {
    const defaults = role === 'operator' ? storageZones : ACCESS_DEFAULTS[`${role}Zones`];
    return defaults.filter((z) => storageZones.includes(z));
  }
  const unknown = given.filter((z) => !storageZones.includes(z));
  if (unknown.length > 0) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `${role}.zones lists ${unknown.join(', ')}, which the storage does not create (zones: ${storageZones.join(', ')}); ` +
        `add the zone to the storage or remove it from the ${role}`,
    );
  }
  return [...given];
}
