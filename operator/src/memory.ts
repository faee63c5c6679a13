/**
 * The operator's memory budget for maintenance: the container's memory limit, times a fixed share
 * (`MAINTENANCE_MEMORY_SHARE`), passed as OPTIMIZE's `memoryLimit` to every compaction reconcile
 * runs. OPTIMIZE counts the process's own RSS at planning time into that limit and keeps 10% of
 * it free for garbage, so the share left outside the budget is for what OPTIMIZE cannot see when
 * it plans: other tables reconciled at the same time (`--concurrency`), the informer cache, and
 * Node's own growth.
 *
 * Where the limit comes from, first found wins:
 * 1. `--memory-limit` / `memoryLimit` in the config file (e.g. `1Gi`, `512Mi`, bytes);
 * 2. `LAKEHOUSE_MEMORY_LIMIT`, set by the Deployment from the Downward API
 *    (`resourceFieldRef: { resource: limits.memory }`, bytes);
 * 3. cgroup v2 `/sys/fs/cgroup/memory.max` (`max`: no limit);
 * 4. cgroup v1 `/sys/fs/cgroup/memory/memory.limit_in_bytes` (values near 2^63: no limit).
 * None: compaction runs without a memory limit, as the CLI does without `--memory-limit`.
 */
import { readFileSync } from 'node:fs';
import { parseSize } from '../../lib/spec/index.js';

/** Share of the container's limit given to maintenance as OPTIMIZE's `memoryLimit`. */
export const MAINTENANCE_MEMORY_SHARE = 0.8;
/** The Downward API variable the Deployment sets from `limits.memory`. */
export const MEMORY_LIMIT_ENV = 'LAKEHOUSE_MEMORY_LIMIT';
export const CGROUP_V2_MEMORY_MAX = '/sys/fs/cgroup/memory.max';
export const CGROUP_V1_MEMORY_LIMIT = '/sys/fs/cgroup/memory/memory.limit_in_bytes';
/** cgroup v1 reports "no limit" as a page-rounded 2^63 - 1; anything above 2^60 means none. */
const UNLIMITED_V1 = 2 ** 60;

export interface MemoryBudget {
  /** The container's limit, bytes. */
  readonly limit: number;
  /** `limit × MAINTENANCE_MEMORY_SHARE`, bytes: what compaction is told it may use. */
  readonly budget: number;
  readonly source: 'flag' | 'env' | 'cgroup-v2' | 'cgroup-v1';
}

export interface MemoryLimitSources {
  /** `--memory-limit` or the config file's `memoryLimit`: a size (`1Gi`) or bytes. */
  readonly configured?: string | number;
  /** Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** cgroup files (tests point them elsewhere). */
  readonly cgroupV2Path?: string;
  readonly cgroupV1Path?: string;
}

/**
 * The memory budget of this process, or null when no limit is known. Throws (a plain Error the
 * entry point reports) for a configured value that is not a size.
 */
export function resolveMemoryBudget(sources: MemoryLimitSources = {}): MemoryBudget | null {
  const env = sources.env ?? process.env;
  const found = ((): { limit: number; source: MemoryBudget['source'] } | null => {
    if (sources.configured !== undefined && sources.configured !== '') {
      const limit = sizeOf(sources.configured);
      if (limit === undefined)
        throw new Error(
          `--memory-limit: "${sources.configured}" is not a size such as 1Gi, 512Mi or 1073741824`,
        );
      return { limit, source: 'flag' };
    }
    const fromEnv = env[MEMORY_LIMIT_ENV];
    if (fromEnv !== undefined && fromEnv !== '') {
      const limit = sizeOf(fromEnv);
      // The Downward API gives 0 when the container has no limit.
      if (limit !== undefined && limit > 0) return { limit, source: 'env' };
    }
    const v2 = readText(sources.cgroupV2Path ?? CGROUP_V2_MEMORY_MAX);
    if (v2 !== null && v2 !== 'max' && /^\d+$/.test(v2)) return { limit: Number(v2), source: 'cgroup-v2' };
    const v1 = readText(sources.cgroupV1Path ?? CGROUP_V1_MEMORY_LIMIT);
    if (v1 !== null && /^\d+$/.test(v1) && Number(v1) < UNLIMITED_V1)
      return { limit: Number(v1), source: 'cgroup-v1' };
    return null;
  })();
  if (!found) return null;
  return { ...found, budget: Math.floor(found.limit * MAINTENANCE_MEMORY_SHARE) };
}

function sizeOf(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v > 0 ? Math.floor(v) : undefined;
  const t = v.trim();
  if (/^\d+$/.test(t)) return Number(t);
  return parseSize(t);
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}
