import { CfnResource, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges one cdk-nag finding on a construct, with the reason a reviewer reads. A thin
 * wrapper over `Validations.of(scope).acknowledge` so every acknowledgement in the kit is found
 * by one name, and the tests can list them all.
 */
export function acknowledgeNag(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/** One checkov check a resource is exempt from, and why. */
export interface CheckovSkip {
  readonly id: string;
  readonly comment: string;
}

/**
 * Records a checkov skip in the resource's template metadata (`Metadata.checkov.skip`, the form
 * checkov reads from CloudFormation), so the reason travels with the resource.
 */
export function skipCheckov(scope: IConstruct, id: string, comment: string): void {
  const resource = scope instanceof CfnResource ? scope : scope.node.defaultChild;
  if (!(resource instanceof CfnResource)) {
    throw new Error(`internal: skipCheckov(${scope.node.path}) found no CloudFormation resource`);
  }
  const existing = (resource.getMetadata('checkov') as { skip?: CheckovSkip[] } | undefined)?.skip ?? [];
  resource.addMetadata('checkov', { skip: [...existing, { id, comment }] });
}
