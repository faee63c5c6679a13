import { createHash } from 'node:crypto';
import { isLakehouseError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import { LAST_CHECKPOINT } from './log-path.js';

/**
 * `_delta_log/_last_checkpoint` ("Last Checkpoint File Schema" in PROTOCOL.md): a hint that points
 * readers near the end of the log. It is only a hint: when it is missing, torn, fails its checksum
 * or points at a checkpoint that is gone, readers list the log instead.
 */
export interface LastCheckpoint {
  version: number;
  /** Number of actions in the checkpoint. */
  size: number;
  parts?: number;
  sizeInBytes?: number;
  numOfAddFiles?: number;
  checkpointSchema?: unknown;
  tags?: Record<string, string>;
  v2Checkpoint?: unknown;
  checksum?: string;
}

/** Read the hint; null when it is missing or not usable (never throws for a bad file). */
export async function readLastCheckpoint(store: ObjectStore): Promise<LastCheckpoint | null> {
  let bytes: Uint8Array;
  try {
    bytes = await store.get(LAST_CHECKPOINT);
  } catch (err) {
    if (isLakehouseError(err, 'NOT_FOUND')) return null;
    throw err;
  }
  return parseLastCheckpoint(new TextDecoder().decode(bytes));
}

/** Parse the hint; null when torn, invalid or when its checksum does not match. */
export function parseLastCheckpoint(text: string): LastCheckpoint | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof json !== 'object' || json === null) return null;
  const o = json as LastCheckpoint;
  if (!Number.isInteger(o.version) || o.version < 0) return null;
  if (o.parts !== undefined && o.parts !== null && (!Number.isInteger(o.parts) || o.parts < 1)) return null;
  if (
    typeof o.checksum === 'string' &&
    o.checksum !== lastCheckpointChecksum(json as Record<string, unknown>)
  )
    return null;
  return o;
}

/** Write the hint with its checksum (overwrites; readers tolerate a torn or stale file). */
export async function writeLastCheckpoint(
  store: ObjectStore,
  hint: Omit<LastCheckpoint, 'checksum'>,
): Promise<void> {
  const body: Record<string, unknown> = { ...hint };
  body.checksum = lastCheckpointChecksum(body);
  await store.put(LAST_CHECKPOINT, new TextEncoder().encode(JSON.stringify(body)));
}

/** MD5 of the canonical form of the JSON, top-level `checksum` ignored ("JSON checksum"). */
export function lastCheckpointChecksum(json: Record<string, unknown>): string {
  return createHash('md5').update(canonicalizeJson(json)).digest('hex');
}

/** The protocol's JSON canonicalization: sorted `path=value` pairs with URL-encoded strings. */
export function canonicalizeJson(json: Record<string, unknown>): string {
  const pairs: [string, string][] = [];
  const walk = (value: unknown, path: string) => {
    if (value !== null && typeof value === 'object') {
      if (Array.isArray(value)) value.forEach((v, i) => walk(v, path ? `${path}+${i}` : String(i)));
      else {
        for (const [k, v] of Object.entries(value)) {
          if (v === undefined) continue;
          const key = `"${encodeStrict(k)}"`;
          walk(v, path ? `${path}+${key}` : key);
        }
      }
      return;
    }
    pairs.push([path, typeof value === 'string' ? `"${encodeStrict(value)}"` : String(value)]);
  };
  const top: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) if (k !== 'checksum') top[k] = v;
  walk(top, '');
  const enc = new TextEncoder();
  pairs.sort((a, b) => Buffer.compare(enc.encode(a[0]), enc.encode(b[0])));
  return pairs.map(([p, v]) => `${p}=${v}`).join(',');
}

/** Percent-encode every octet except `A-Z a-z 0-9 - . _ ~`, uppercase hex. */
function encodeStrict(s: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
