import { LakehouseError } from '../errors.js';

/**
 * Object paths are relative to the store root: no leading `/`, no `..` segment (a table must not
 * reach outside its location). Rejects with INVALID_ARGUMENT otherwise.
 */
export function checkRelativePath(path: string): void {
  if (path.startsWith('/') || path.split('/').includes('..')) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `storage: path "${path}" must be relative to the table root`,
    );
  }
}

/** The object key of `path` under a root key that is '' or ends with `/`. */
export function storeKey(rootKey: string, path: string): string {
  return rootKey + path;
}
