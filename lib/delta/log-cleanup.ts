import type { ObjectStore } from '../storage/object-store.js';
import { LOG_DIR, parseLogPath, type LogFile } from './log-path.js';
import { parseInterval, tableProperty } from './properties.js';

/**
 * Metadata cleanup ("Metadata Cleanup" in PROTOCOL.md): delete log files older than
 * `delta.logRetentionDuration`, but only behind a checkpoint, so every version that remains can
 * still be reconstructed. The checkpoint kept is the newest one not newer than the newest commit
 * older than the cutoff (midnight UTC of the retention day); it and everything after it stay.
 * Sidecar files are left alone (this kit does not write V2 checkpoints).
 */
export interface CleanupResult {
  /** The oldest version that can still be loaded after cleanup, or null when nothing was deleted. */
  keptFrom: number | null;
  deleted: string[];
}

export async function cleanupExpiredLogs(
  store: ObjectStore,
  configuration: Record<string, string> | undefined,
  options: { now?: number; dryRun?: boolean } = {},
): Promise<CleanupResult> {
  const retention = parseInterval(
    tableProperty(configuration, 'delta.logRetentionDuration'),
    'delta.logRetentionDuration',
  );
  const now = options.now ?? Date.now();
  const DAY = 86_400_000;
  const cutoff = Math.floor((now - retention) / DAY) * DAY;

  const files: LogFile[] = [];
  for await (const meta of store.list(`${LOG_DIR}/`)) {
    const name = meta.path.slice(LOG_DIR.length + 1);
    if (name.startsWith('_')) break;
    const f = parseLogPath(meta.path, meta.size, meta.lastModified);
    if (f) files.push(f);
  }
  let cutoffCommit = -1;
  for (const f of files)
    if (f.kind === 'commit' && f.lastModified <= cutoff) cutoffCommit = Math.max(cutoffCommit, f.version);
  if (cutoffCommit < 0) return { keptFrom: null, deleted: [] };

  // Newest complete checkpoint at or before the cutoff commit.
  const byVersion = new Map<number, Extract<LogFile, { kind: 'checkpoint' }>[]>();
  for (const f of files) {
    if (f.kind !== 'checkpoint' || f.version > cutoffCommit) continue;
    let list = byVersion.get(f.version);
    if (!list) byVersion.set(f.version, (list = []));
    list.push(f);
  }
  let keep = -1;
  for (const [version, cps] of byVersion) {
    const complete =
      cps.some((c) => c.format !== 'multi') ||
      [...new Set(cps.map((c) => c.parts))].some(
        (n) => new Set(cps.filter((c) => c.parts === n).map((c) => c.part)).size === n,
      );
    if (complete && version > keep) keep = version;
  }
  if (keep <= 0) return { keptFrom: null, deleted: [] };

  const doomed = files
    .filter(
      (f) =>
        f.version < keep || (f.kind === 'other' && f.path.endsWith('.compacted.json') && f.version <= keep),
    )
    .map((f) => f.path);
  if (!options.dryRun && doomed.length > 0) await store.deleteMany(doomed);
  return { keptFrom: keep, deleted: doomed };
}
