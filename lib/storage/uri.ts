import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LakehouseError } from '../errors.js';

/** A table or store location, parsed from the URI forms the CLI and the spec accept. */
export type StorageLocation =
  | { scheme: 'file'; path: string }
  | { scheme: 's3'; bucket: string; prefix: string }
  | { scheme: 'azure'; container: string; account?: string; prefix: string; dfs: boolean }
  | { scheme: 'gs'; bucket: string; prefix: string };

const URI_HELP =
  'use a local path, file:///path, s3://bucket/prefix, abfss://container@account.dfs.core.windows.net/path, az://container/path or gs://bucket/prefix';

/** Parse a table location. Plain paths resolve against the current directory. */
export function parseLocation(uri: string): StorageLocation {
  if (!uri || uri.trim() === '')
    throw new LakehouseError('INVALID_ARGUMENT', `empty table location; ${URI_HELP}`);
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/.exec(uri);
  if (!m) return { scheme: 'file', path: path.resolve(uri) };
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!;
  const splitBucket = (): [string, string] => {
    const i = rest.indexOf('/');
    const bucket = i < 0 ? rest : rest.slice(0, i);
    const prefix = i < 0 ? '' : rest.slice(i + 1);
    if (!bucket)
      throw new LakehouseError('INVALID_ARGUMENT', `"${uri}" has no bucket or container; ${URI_HELP}`);
    return [bucket, trimSlashes(prefix)];
  };
  switch (scheme) {
    case 'file':
      return { scheme: 'file', path: fileURLToPath(uri) };
    case 's3':
    case 's3a': {
      const [bucket, prefix] = splitBucket();
      return { scheme: 's3', bucket, prefix };
    }
    case 'gs': {
      const [bucket, prefix] = splitBucket();
      return { scheme: 'gs', bucket, prefix };
    }
    case 'az':
    case 'adl': {
      const [container, prefix] = splitBucket();
      return { scheme: 'azure', container, prefix, dfs: false };
    }
    case 'abfs':
    case 'abfss':
    case 'wasb':
    case 'wasbs': {
      const [authority, prefix] = splitBucket();
      const at = authority.indexOf('@');
      if (at < 0) {
        throw new LakehouseError(
          'INVALID_ARGUMENT',
          `"${uri}" must name container and account: ${scheme}://container@account.dfs.core.windows.net/path`,
        );
      }
      const container = authority.slice(0, at);
      const host = authority.slice(at + 1);
      const account = host.split('.')[0]!;
      return { scheme: 'azure', container, account, prefix, dfs: scheme.startsWith('abfs') };
    }
    default:
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `unsupported location scheme "${scheme}://" in "${uri}"; ${URI_HELP}`,
      );
  }
}

function trimSlashes(s: string): string {
  return s.replace(/^\/+/, '').replace(/\/+$/, '');
}
