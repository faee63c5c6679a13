import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { peerBatch, type PeerEngine, type PeerRequest as HarnessRequest } from '../harness/peers.js';

/**
 * A batch of peer requests (test/harness/peers.ts `peerBatch`) built from plain objects, as the
 * log tests assemble them in loops. Results come back in request order, each `{ok, ...}`.
 */
export interface PeerRequest {
  op: 'read' | 'files' | 'version' | 'write' | 'history' | 'optimize' | 'vacuum' | 'checkpoint' | 'delete';
  table: string;
  [key: string]: unknown;
}
export type PeerResult = { ok: true; [key: string]: unknown } | { ok: false; error: string };

export async function runPeer(
  engine: PeerEngine,
  requests: PeerRequest[],
  timeoutMs?: number,
): Promise<PeerResult[]> {
  if (requests.length === 0) return [];
  // Developer aid: LAKEHOUSE_PEER_CACHE=<dir> reuses the results of an identical batch.
  const cacheRoot = process.env.LAKEHOUSE_PEER_CACHE;
  const cacheFile = cacheRoot
    ? path.join(
        cacheRoot,
        `${engine}-${createHash('sha256').update(JSON.stringify(requests)).digest('hex')}.json`,
      )
    : undefined;
  if (cacheFile && existsSync(cacheFile)) return JSON.parse(readFileSync(cacheFile, 'utf8')) as PeerResult[];
  // Batches here cover every golden table: allow them far longer than one request needs.
  const results = (await peerBatch(engine, requests as unknown as HarnessRequest[], {
    timeoutMs: timeoutMs ?? 900_000,
  })) as unknown as PeerResult[];
  if (cacheFile) {
    mkdirSync(cacheRoot!, { recursive: true });
    writeFileSync(cacheFile, JSON.stringify(results));
  }
  return results;
}
