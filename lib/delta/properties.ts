import { LakehouseError } from '../errors.js';

/**
 * Table properties the log uses, with their defaults in one place (the code reads them with `??`
 * from here, and the README quotes this list).
 */
export const TABLE_PROPERTY_DEFAULTS = {
  /** Commits between automatic checkpoints. */
  'delta.checkpointInterval': '10',
  /** How long log entries are kept before cleanup (behind a checkpoint). */
  'delta.logRetentionDuration': 'interval 30 days',
  /** How long tombstones are kept (VACUUM's retention, and tombstone expiry in checkpoints). */
  'delta.deletedFileRetentionDuration': 'interval 1 week',
  /** Clean up expired log files after a checkpoint. */
  'delta.enableExpiredLogCleanup': 'true',
  /** Write `add.stats` as JSON in checkpoints. */
  'delta.checkpoint.writeStatsAsJson': 'true',
} as const;

export type KnownProperty = keyof typeof TABLE_PROPERTY_DEFAULTS;

/** A property's value, or its default. */
export function tableProperty(configuration: Record<string, string> | undefined, key: KnownProperty): string {
  return configuration?.[key] ?? TABLE_PROPERTY_DEFAULTS[key];
}

const UNIT_MS: Record<string, number> = {
  microsecond: 0.001,
  millisecond: 1,
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
};

/**
 * Parse a Spark calendar interval as Delta stores durations: `interval 30 days`, `interval 1 week`,
 * `7 days`, `interval 2 hours 30 minutes`. Returns milliseconds.
 */
export function parseInterval(text: string, key = 'interval'): number {
  const parts = text
    .trim()
    .toLowerCase()
    .replace(/^interval\s+/, '')
    .split(/\s+/);
  if (parts.length === 0 || parts.length % 2 !== 0) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `delta: ${key} "${text}" is not an interval like "interval 30 days"`,
    );
  }
  let ms = 0;
  for (let i = 0; i < parts.length; i += 2) {
    const n = Number(parts[i]);
    const unit = parts[i + 1].replace(/s$/, '');
    if (!Number.isFinite(n) || !(unit in UNIT_MS)) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `delta: ${key} "${text}" is not an interval like "interval 30 days"`,
      );
    }
    ms += n * UNIT_MS[unit];
  }
  return ms;
}

/** `delta.checkpointInterval` as a positive integer. */
export function checkpointInterval(configuration: Record<string, string> | undefined): number {
  const v = Number(tableProperty(configuration, 'delta.checkpointInterval'));
  if (!Number.isInteger(v) || v <= 0) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `delta: delta.checkpointInterval must be a positive integer, got "${configuration?.['delta.checkpointInterval']}"`,
    );
  }
  return v;
}
