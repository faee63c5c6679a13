/**
 * Names of the files in `_delta_log/`, as the protocol defines them. Every path here is relative to
 * the table root, so it can be handed to the `ObjectStore` as is.
 */

export const LOG_DIR = '_delta_log';
export const LAST_CHECKPOINT = `${LOG_DIR}/_last_checkpoint`;
export const SIDECAR_DIR = `${LOG_DIR}/_sidecars`;

/** Versions are zero-padded to 20 digits so that lexicographic order is version order. */
export function padVersion(version: number): string {
  return String(version).padStart(20, '0');
}

export function commitPath(version: number): string {
  return `${LOG_DIR}/${padVersion(version)}.json`;
}

export function classicCheckpointPath(version: number): string {
  return `${LOG_DIR}/${padVersion(version)}.checkpoint.parquet`;
}

export function multiPartCheckpointPath(version: number, part: number, parts: number): string {
  const p = (n: number) => String(n).padStart(10, '0');
  return `${LOG_DIR}/${padVersion(version)}.checkpoint.${p(part)}.${p(parts)}.parquet`;
}

export function sidecarPath(name: string): string {
  return `${SIDECAR_DIR}/${name}`;
}

/** What a file in `_delta_log/` is. Files this kit does not use (crc, compactions) are `other`. */
export type LogFile =
  | { kind: 'commit'; version: number; path: string; size: number; lastModified: number }
  | {
      kind: 'checkpoint';
      version: number;
      path: string;
      size: number;
      lastModified: number;
      /** classic: `n.checkpoint.parquet`; multi: `n.checkpoint.o.p.parquet`; uuid: V2 `n.checkpoint.u.{json,parquet}`. */
      format: 'classic' | 'multi' | 'uuid';
      part: number;
      parts: number;
    }
  | { kind: 'other'; version: number; path: string; size: number; lastModified: number };

const COMMIT_RE = /^(\d{20})\.json$/;
const CLASSIC_RE = /^(\d{20})\.checkpoint\.parquet$/;
const MULTI_RE = /^(\d{20})\.checkpoint\.(\d{10})\.(\d{10})\.parquet$/;
const UUID_RE = /^(\d{20})\.checkpoint\.[0-9a-fA-F-]{36}\.(json|parquet)$/;
const VERSIONED_RE = /^(\d{20})\./;

/** Classify a path under `_delta_log/` (as listed); null for paths that carry no version. */
export function parseLogPath(path: string, size = 0, lastModified = 0): LogFile | null {
  const slash = path.lastIndexOf('/');
  if (path.slice(0, slash) !== LOG_DIR) return null;
  const name = path.slice(slash + 1);
  let m = COMMIT_RE.exec(name);
  if (m) return { kind: 'commit', version: Number(m[1]), path, size, lastModified };
  m = CLASSIC_RE.exec(name);
  if (m)
    return {
      kind: 'checkpoint',
      format: 'classic',
      version: Number(m[1]),
      part: 1,
      parts: 1,
      path,
      size,
      lastModified,
    };
  m = MULTI_RE.exec(name);
  if (m) {
    return {
      kind: 'checkpoint',
      format: 'multi',
      version: Number(m[1]),
      part: Number(m[2]),
      parts: Number(m[3]),
      path,
      size,
      lastModified,
    };
  }
  m = UUID_RE.exec(name);
  if (m)
    return {
      kind: 'checkpoint',
      format: 'uuid',
      version: Number(m[1]),
      part: 1,
      parts: 1,
      path,
      size,
      lastModified,
    };
  m = VERSIONED_RE.exec(name);
  if (m) return { kind: 'other', version: Number(m[1]), path, size, lastModified };
  return null;
}

/** The file name alone, for messages: `00000000000000000007.json`. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
