/**
 * Storage credentials at run time. Without `spec.storageSecretRef` the store authenticates with
 * the pod's workload identity (IRSA / EKS Pod Identity, AKS and GKE workload identity: the SDKs'
 * default credential chains). With it, the keys of that Secret in the LakeTable's namespace are
 * the storage options (`accessKeyId`, `secretAccessKey`, `endpoint`, `accountKey`, …), read on each
 * reconcile and never logged or written to the status.
 */
import { ApiException, CoreV1Api } from './kube.js';
import { LakehouseError } from '../../lib/errors.js';
import type { StorageOptions } from '../../lib/storage/index.js';
import type { KubeLakeTable } from './types.js';

export async function storageOptionsFor(
  core: CoreV1Api,
  table: KubeLakeTable,
  base: StorageOptions,
): Promise<StorageOptions> {
  const ref = table.spec.storageSecretRef;
  if (!ref) return base;
  const namespace = table.metadata.namespace ?? 'default';
  let data: Record<string, string> | undefined;
  try {
    const secret = await core.readNamespacedSecret({ namespace, name: ref.name });
    data = secret.data;
  } catch (err) {
    if (err instanceof ApiException && (err.code === 404 || err.code === 403))
      throw new LakehouseError(
        'STORAGE_CONFIG',
        err.code === 404
          ? `Secret ${namespace}/${ref.name} named in spec.storageSecretRef does not exist; create it with the storage options as keys`
          : `the operator may not read Secret ${namespace}/${ref.name}; grant its ServiceAccount "get" on secrets in ${namespace}`,
      );
    throw err;
  }
  const options: Record<string, string> = { ...base };
  for (const [k, v] of Object.entries(data ?? {})) options[k] = Buffer.from(v, 'base64').toString('utf8');
  return options;
}
