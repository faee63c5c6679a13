/**
 * The value formats a LakeTable uses, chosen so that the Kubernetes API server can check the same
 * rules in CEL as this code checks in TypeScript:
 *
 * - **durations** in spec fields (`maintenance.vacuum.retention`, `maintenance.window.duration`):
 *   Go/Kubernetes duration strings made of hours, minutes and seconds, e.g. `168h`, `90m`,
 *   `1h30m`. CEL's `duration()` reads them. There is no day unit: 7 days is `168h`.
 * - **Delta intervals** in `properties` (`delta.logRetentionDuration`,
 *   `delta.deletedFileRetentionDuration`): the table property's own format, which Delta writers
 *   read from the log: `interval <n> <unit>` with unit second, minute, hour, day or week
 *   (singular or plural), lower case, e.g. `interval 7 days`.
 * - **sizes** (`targetFileSize`, `minFileSize`): Kubernetes quantities, e.g. `128Mi`, `1Gi`,
 *   `512M` or a plain byte count `134217728`, always as a string. CEL's `quantity()` reads them.
 */
import { LakehouseError } from '../errors.js';

/** A duration of hours, minutes and seconds: `168h`, `90m`, `1h30m`, `45s`. */
export const DURATION_PATTERN = '^(?:[0-9]+h)?(?:[0-9]+m)?(?:[0-9]+s)?$';
const DURATION_RE = new RegExp(DURATION_PATTERN);
export const DURATION_HELP =
  'use hours, minutes and seconds such as "168h", "90m" or "1h30m" (7 days = "168h")';

/** Milliseconds in a duration string, or undefined when it is not one (or is empty). */
export function parseDuration(text: string): number | undefined {
  if (typeof text !== 'string' || text === '' || !DURATION_RE.test(text)) return undefined;
  const part = (unit: string): number => Number(new RegExp(`([0-9]+)${unit}`).exec(text)?.[1] ?? 0);
  return ((part('h') * 60 + part('m')) * 60 + part('s')) * 1000;
}

/** Like parseDuration, for values already validated; throws INVALID_SPEC otherwise. */
export function durationMs(text: string, field: string): number {
  const ms = parseDuration(text);
  if (ms === undefined)
    throw new LakehouseError('INVALID_SPEC', `${field}: "${text}" is not a duration; ${DURATION_HELP}`);
  return ms;
}

/** A Delta interval as table properties hold it: `interval 7 days`, `interval 168 hours`. */
export const DELTA_INTERVAL_PATTERN = '^interval [0-9]+ (second|minute|hour|day|week)s?$';
const DELTA_INTERVAL_RE = new RegExp(DELTA_INTERVAL_PATTERN);
export const DELTA_INTERVAL_HELP =
  'use the Delta interval format "interval <n> <unit>" with unit second, minute, hour, day or week, e.g. "interval 7 days"';

const INTERVAL_UNIT_MS: Readonly<Record<string, number>> = {
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
};

/** Milliseconds in a Delta interval string, or undefined when it is not one. */
export function parseDeltaInterval(text: string): number | undefined {
  if (typeof text !== 'string' || !DELTA_INTERVAL_RE.test(text)) return undefined;
  const [, n, unit] = text.split(' ');
  return Number(n) * INTERVAL_UNIT_MS[unit!.replace(/s$/, '')]!;
}

/** The Delta interval for a number of whole days: `interval 7 days`. */
export function deltaIntervalDays(days: number): string {
  return `interval ${days} ${days === 1 ? 'day' : 'days'}`;
}

/** A size as a Kubernetes quantity with a binary or decimal suffix, or plain bytes. */
export const SIZE_PATTERN = '^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$';
const SIZE_RE = new RegExp(SIZE_PATTERN);
export const SIZE_HELP = 'use a size string such as "128Mi", "1Gi", "512M" or "134217728" (bytes), in quotes';

const SIZE_FACTORS: Readonly<Record<string, number>> = {
  '': 1,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
};

/** Bytes in a size string (rounded down to a whole byte), or undefined when it is not one. */
export function parseSize(text: string): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = SIZE_RE.exec(text);
  if (!m) return undefined;
  const suffix = /[A-Za-z]+$/.exec(text)?.[0] ?? '';
  return Math.floor(Number(text.slice(0, text.length - suffix.length)) * SIZE_FACTORS[suffix]!);
}

/** Like parseSize, for values already validated; throws INVALID_SPEC otherwise. */
export function sizeBytes(text: string, field: string): number {
  const n = parseSize(text);
  if (n === undefined)
    throw new LakehouseError('INVALID_SPEC', `${field}: "${text}" is not a size; ${SIZE_HELP}`);
  return n;
}

/** A size for people and for the spec: `128Mi`, `96Mi`, `1Gi`, or bytes when not a whole unit. */
export function formatSize(bytes: number): string {
  for (const [suffix, f] of [
    ['Ti', 1024 ** 4],
    ['Gi', 1024 ** 3],
    ['Mi', 1024 ** 2],
    ['Ki', 1024],
  ] as const) {
    if (bytes >= f && bytes % f === 0) return `${bytes / f}${suffix}`;
  }
  return String(bytes);
}

/** True when the IANA time zone name is known to this runtime (`UTC`, `Europe/Berlin`). */
export function isValidTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
