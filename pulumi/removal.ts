import * as pulumi from '@pulumi/pulumi';

/**
 * The stack config flag that, together with a component's `removalPolicy: 'destroy'`, lets
 * `pulumi destroy` delete storage accounts, filesystems, buckets and catalog databases. Set it
 * with `pulumi config set lakehouse:removeDataOnDestroy true`. Twin of the CDK context flag of
 * the same name.
 */
export const REMOVE_DATA_ON_DESTROY_CONFIG = 'lakehouse:removeDataOnDestroy';

/** What a component asks for its data-bearing resources. */
export type RemovalPolicy = 'retain' | 'destroy';

/** The resource options every data-bearing resource gets, decided by {@link resolveRemoval}. */
export interface DataResourceOptions {
  /** Pulumi refuses to delete the resource (also on replace) while this is true. */
  readonly protect: boolean;
  /** `pulumi destroy` drops the resource from the state but leaves it in the cloud. */
  readonly retainOnDelete: boolean;
  /** Only when both keys agree: the bucket may be deleted with its objects. */
  readonly destroyAllowed: boolean;
}

/**
 * The options of every data-bearing resource: deletable only when BOTH the component asked for
 * `removalPolicy: 'destroy'` AND the stack flag {@link REMOVE_DATA_ON_DESTROY_CONFIG} is `true`
 * (a two-key guard: one typo or one copied snippet cannot delete a lake). Otherwise the resource
 * is `protect`ed and `retainOnDelete`, and a warning is logged on `resource` when the component
 * asked for `destroy` alone.
 *
 * @param stackFlag the flag's value; read from the stack config when left out.
 */
export function resolveRemoval(
  requested: RemovalPolicy | undefined,
  resource?: pulumi.Resource,
  stackFlag: boolean = removeDataOnDestroy(),
): DataResourceOptions {
  if (requested === 'destroy' && stackFlag) {
    return { protect: false, retainOnDelete: false, destroyAllowed: true };
  }
  if (requested === 'destroy') {
    void pulumi.log.warn(
      `removalPolicy 'destroy' is ignored: data is kept (protect, retainOnDelete) unless the stack config ` +
        `${REMOVE_DATA_ON_DESTROY_CONFIG} is true as well`,
      resource,
    );
  }
  return { protect: true, retainOnDelete: true, destroyAllowed: false };
}

/** Whether the stack flag {@link REMOVE_DATA_ON_DESTROY_CONFIG} is on (`true` or `"true"`). */
export function removeDataOnDestroy(): boolean {
  const [namespace, key] = REMOVE_DATA_ON_DESTROY_CONFIG.split(':') as [string, string];
  return new pulumi.Config(namespace).getBoolean(key) === true;
}

/** The Pulumi resource options for a data-bearing resource, merged over `opts`. */
export function dataResourceOptions(
  removal: DataResourceOptions,
  opts: pulumi.CustomResourceOptions,
): pulumi.CustomResourceOptions {
  return { ...opts, protect: removal.protect, retainOnDelete: removal.retainOnDelete };
}
