import { Annotations, RemovalPolicy } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * The global context flag that, together with a construct's `removalPolicy: DESTROY`, lets
 * `cdk destroy` delete buckets, their objects and KMS keys. Set it with
 * `cdk deploy -c lakehouse:removeDataOnDestroy=true` or in `cdk.json`.
 */
export const REMOVE_DATA_ON_DESTROY_CONTEXT = 'lakehouse:removeDataOnDestroy';

/**
 * The removal policy of every stateful resource (buckets, keys, databases): `DESTROY` only when
 * BOTH the construct asked for it AND the context flag {@link REMOVE_DATA_ON_DESTROY_CONTEXT} is
 * `true` (a two-key guard: one typo or one copied snippet cannot delete a lake). Otherwise
 * `RETAIN`, with a warning on `scope` when the construct asked for `DESTROY` alone.
 */
export function resolveRemovalPolicy(scope: IConstruct, requested: RemovalPolicy | undefined): RemovalPolicy {
  if (requested !== RemovalPolicy.DESTROY) return RemovalPolicy.RETAIN;
  if (removeDataOnDestroy(scope)) return RemovalPolicy.DESTROY;
  Annotations.of(scope).addWarningV2(
    'lakehouse:removalPolicyRetained',
    `removalPolicy DESTROY is ignored: data is kept unless the context flag ` +
      `${REMOVE_DATA_ON_DESTROY_CONTEXT}=true is set as well`,
  );
  return RemovalPolicy.RETAIN;
}

/** Whether the global "remove data on destroy" flag is on (`true` or the string `"true"`). */
export function removeDataOnDestroy(scope: IConstruct): boolean {
  const value: unknown = scope.node.tryGetContext(REMOVE_DATA_ON_DESTROY_CONTEXT);
  return value === true || value === 'true';
}
