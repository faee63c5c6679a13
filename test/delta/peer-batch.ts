import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { cacheDir, requireTool } from '../harness/env.js';

/**
 * Run a batch of requests through test/peers/peer.py (delta-rs or Spark), one process per batch:
 * Spark starts once for all of them. Results come back in request order, each `{ok, ...}`.
 */
export interface PeerRequest {
  op: 'read' | 'files' | 'version' | 'write' | 'history' | 'optimize' | 'vacuum' | 'checkpoint' | 'delete';
  table: string;
  [key: string]: unknown;
}
export type PeerResult = { ok: true; [key: string]: unknown } | { ok: false; error: string };

export function peerPython(): string {
  const peersJson = requireTool(
    'the peers manifest (delta-rs and Spark venv)',
    path.join(cacheDir(), 'peers.json'),
  );
  const python = (JSON.parse(readFileSync(peersJson, 'utf8')) as { python: string }).python;
  return requireTool('the Python venv with deltalake and pyspark', python);
}

export async function runPeer(engine: 'delta-rs' | 'spark', requests: PeerRequest[]): Promise<PeerResult[]> {
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
  const results = await runPeerProcess(engine, requests);
  if (cacheFile) {
    mkdirSync(cacheRoot!, { recursive: true });
    writeFileSync(cacheFile, JSON.stringify(results));
  }
  return results;
}

async function runPeerProcess(engine: 'delta-rs' | 'spark', requests: PeerRequest[]): Promise<PeerResult[]> {
  const python = peerPython();
  const child = spawn(python, [path.resolve('test/peers/peer.py'), '--engine', engine], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  child.stdin.end(JSON.stringify(requests));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const text = Buffer.concat(out).toString('utf8');
  if (code !== 0 || !text.trim()) {
    throw new Error(
      `peer ${engine} exited with ${code}: ${Buffer.concat(err).toString('utf8').slice(-3000)}`,
    );
  }
  return JSON.parse(text) as PeerResult[];
}
