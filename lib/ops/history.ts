import type { ObjectStore } from '../storage/object-store.js';
import { history as logHistory } from '../delta/history.js';

/**
 * HISTORY: one entry per commit, newest first, from each commit's `commitInfo` (operation,
 * parameters, metrics, engine), with the commit timestamp (in-commit timestamp when the table
 * has them, else the commit file's time). Commits whose JSON was cleaned up no longer appear.
 */
export interface HistoryEntry {
  version: number;
  /** ISO-8601 UTC. */
  timestamp: string;
  operation: string | null;
  operationParameters: Record<string, unknown>;
  operationMetrics: Record<string, unknown>;
  engineInfo: string | null;
  isBlindAppend: boolean | null;
  readVersion: number | null;
  userName: string | null;
}

export async function tableHistory(
  store: ObjectStore,
  options: { limit?: number } = {},
): Promise<HistoryEntry[]> {
  const out: HistoryEntry[] = [];
  for await (const e of logHistory(store, options)) {
    const ci = (e.commitInfo ?? {}) as Record<string, unknown>;
    out.push({
      version: e.version,
      timestamp: new Date(e.timestamp).toISOString(),
      operation: typeof ci.operation === 'string' ? ci.operation : null,
      operationParameters: (ci.operationParameters as Record<string, unknown>) ?? {},
      operationMetrics: (ci.operationMetrics as Record<string, unknown>) ?? {},
      engineInfo: typeof ci.engineInfo === 'string' ? ci.engineInfo : null,
      isBlindAppend: typeof ci.isBlindAppend === 'boolean' ? ci.isBlindAppend : null,
      readVersion: typeof ci.readVersion === 'number' ? ci.readVersion : null,
      userName: typeof ci.userName === 'string' ? ci.userName : null,
    });
  }
  return out;
}
