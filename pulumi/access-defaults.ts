import type { LakehouseZone } from './defaults.js';

/** The three kinds of principal the lakehouse grants storage access to. */
export const LAKEHOUSE_ROLES = ['reader', 'writer', 'operator'] as const;
export type LakehouseRole = (typeof LAKEHOUSE_ROLES)[number];

/** Which zones each role reaches when the component is not told otherwise. */
export const ACCESS_DEFAULTS = {
  /** Consumers read cleaned data and models, not raw arrivals or scratch. */
  readerZones: ['curated', 'models'] as readonly LakehouseZone[],
  /** Pipelines land raw data and write curated data (as the CDK writer role). */
  writerZones: ['raw', 'curated'] as readonly LakehouseZone[],
  /** The operator maintains (compacts, vacuums) every zone. */
  operatorZones: 'all zones',
} as const;

/** The Kubernetes service account a cloud identity is federated with. */
export interface KubernetesWorkload {
  /** AKS: the cluster's OIDC issuer URL (`az aks show --query oidcIssuerProfile.issuerUrl`). Ignored on GKE. */
  readonly oidcIssuerUrl?: string;
  /** @default PULUMI_LAKEHOUSE_DEFAULTS.kubernetesNamespace */
  readonly namespace?: string;
  /** @default PULUMI_LAKEHOUSE_DEFAULTS.kubernetesServiceAccount */
  readonly serviceAccount?: string;
}
