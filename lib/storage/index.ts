import { LakehouseError } from '../errors.js';
import { LocalObjectStore } from './local.js';
import type { ObjectStore } from './object-store.js';
import { parseLocation } from './uri.js';

export type { ObjectStore, ObjectMeta, ListOptions, PutOptions } from './object-store.js';
export { joinPath } from './object-store.js';
export { LocalObjectStore } from './local.js';
export { parseLocation, type StorageLocation } from './uri.js';

/**
 * Backend-specific settings, as delta-rs users pass them (`--storage-option KEY=VALUE`), e.g.
 * `AWS_ENDPOINT_URL`, `AWS_REGION`, `AZURE_STORAGE_CONNECTION_STRING`, `GOOGLE_CLOUD_PROJECT`.
 * Keys not given fall back to each SDK's environment variables and default credential chain.
 */
export type StorageOptions = Record<string, string>;

type CloudOpener = (uri: string, options: StorageOptions) => Promise<ObjectStore>;
const cloudOpeners = new Map<string, CloudOpener>();

/** Cloud backends register themselves here so the core never imports an SDK it doesn't use. */
export function registerCloudStore(scheme: 's3' | 'azure' | 'gs', opener: CloudOpener): void {
  cloudOpeners.set(scheme, opener);
}

/** Open the object store rooted at a table location (see `parseLocation` for the URI forms). */
export async function openStore(uri: string, options: StorageOptions = {}): Promise<ObjectStore> {
  const loc = parseLocation(uri);
  if (loc.scheme === 'file') return new LocalObjectStore(loc.path);
  const opener = cloudOpeners.get(loc.scheme) ?? (await loadCloudOpener(loc.scheme));
  return opener(uri, options);
}

async function loadCloudOpener(scheme: string): Promise<CloudOpener> {
  // Lazy: the SDKs are heavy and a local-disk user never needs them.
  const modules: Record<string, string> = { s3: './s3.js', azure: './azure.js', gs: './gcs.js' };
  const spec = modules[scheme];
  try {
    if (spec) await import(spec);
  } catch (err) {
    throw new LakehouseError(
      'STORAGE_CONFIG',
      `storage: the ${scheme} backend failed to load: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const opener = cloudOpeners.get(scheme);
  if (!opener) throw new LakehouseError('STORAGE_CONFIG', `storage: no backend for ${scheme}:// locations`);
  return opener;
}
