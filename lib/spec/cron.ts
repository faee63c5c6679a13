/**
 * Cron schedules for maintenance, in the five-field form Kubernetes CronJobs use:
 *
 *     minute hour day-of-month month day-of-week
 *     0-59   0-23 1-31         1-12  0-7 (0 and 7 are Sunday)
 *
 * Each field is `*`, a value, a range `a-b`, a step `*\/n` or `a-b/n`, or a comma list of those.
 * Months and weekdays also take names (`jan`, `mon`). The macros `@hourly`, `@daily`,
 * `@midnight`, `@weekly`, `@monthly`, `@yearly` and `@annually` are accepted. As in cron, when
 * both day-of-month and day-of-week are restricted, a day matching either one matches.
 */

export const CRON_MACROS: Readonly<Record<string, string>> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

/** A loose shape check (five fields or a macro); `cronError` does the full check. */
export const CRON_PATTERN = '^(@(hourly|daily|midnight|weekly|monthly|yearly|annually)|(\\S+\\s+){4}\\S+)$';

export const CRON_HELP =
  'use five fields "minute hour day-of-month month day-of-week", e.g. "0 2 * * *" (02:00 every day) or "*/30 * * * *", or @hourly, @daily, @weekly, @monthly';

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
  },
  { name: 'day-of-week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

/** A parsed schedule: the allowed values of each field. */
export interface CronSchedule {
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  /** 0 = Sunday … 6 = Saturday (7 is folded into 0). */
  readonly daysOfWeek: ReadonlySet<number>;
  readonly dayOfMonthRestricted: boolean;
  readonly dayOfWeekRestricted: boolean;
}

class CronError extends Error {}

/** Parse a cron expression; throws an Error whose message says which field is wrong and why. */
export function parseCron(expr: string): CronSchedule {
  const text = CRON_MACROS[expr.trim().toLowerCase()] ?? expr.trim();
  const parts = text.split(/\s+/);
  if (parts.length !== 5) {
    throw new CronError(`"${expr}" has ${parts.length} field${parts.length === 1 ? '' : 's'}, cron needs 5`);
  }
  const sets = parts.map((p, i) => parseField(p, FIELDS[i]!));
  const dow = new Set([...sets[4]!].map((d) => d % 7));
  return {
    minutes: sets[0]!,
    hours: sets[1]!,
    daysOfMonth: sets[2]!,
    months: sets[3]!,
    daysOfWeek: dow,
    dayOfMonthRestricted: parts[2] !== '*' && parts[2] !== '?',
    dayOfWeekRestricted: parts[4] !== '*' && parts[4] !== '?',
  };
}

/** Why a cron expression is invalid, with what to write instead; undefined when it is valid. */
export function cronError(expr: string): string | undefined {
  try {
    parseCron(expr);
    return undefined;
  } catch (err) {
    return `${(err as Error).message}; ${CRON_HELP}`;
  }
}

function parseField(text: string, spec: FieldSpec): Set<number> {
  const out = new Set<number>();
  for (const item of text.split(',')) {
    const m = /^(\*|\?|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d+))?$/.exec(item);
    if (!m) throw new CronError(`${spec.name} field "${text}" is not a value, range, step or list`);
    let lo = spec.min;
    let hi = spec.max;
    if (m[1] !== '*' && m[1] !== '?') {
      const [a, b] = m[1]!.split('-');
      lo = value(a!, spec, text);
      hi = b === undefined ? (m[2] === undefined ? lo : spec.max) : value(b, spec, text);
      if (hi < lo) throw new CronError(`${spec.name} range "${m[1]}" runs backwards`);
    }
    const step = m[2] === undefined ? 1 : Number(m[2]);
    if (step < 1) throw new CronError(`${spec.name} step "/${m[2]}" must be at least 1`);
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

function value(token: string, spec: FieldSpec, field: string): number {
  const named = spec.names?.indexOf(token.toLowerCase()) ?? -1;
  // Month names count from 1 (jan), weekday names from 0 (sun).
  if (named >= 0) return named + (spec.name === 'month' ? 1 : 0);
  if (!/^\d+$/.test(token)) throw new CronError(`${spec.name} field "${field}": "${token}" is not a number`);
  const n = Number(token);
  if (n < spec.min || n > spec.max) {
    throw new CronError(`${spec.name} field "${field}": ${n} is outside ${spec.min}-${spec.max}`);
  }
  return n;
}

interface LocalTime {
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: number;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const formatters = new Map<string, Intl.DateTimeFormat>();

function localTime(t: number, timeZone: string): LocalTime {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(t))) parts[p.type] = p.value;
  return {
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    weekday: WEEKDAYS.indexOf(parts.weekday!),
  };
}

const MINUTE = 60_000;

/**
 * The first time strictly after `after` at which the schedule fires, read in `timeZone` (IANA
 * name, default UTC). Throws when the expression is invalid or never fires (e.g. `0 0 31 2 *`).
 */
export function nextCronTime(expr: string | CronSchedule, after: Date, timeZone = 'UTC'): Date {
  const s = typeof expr === 'string' ? parseCron(expr) : expr;
  let t = Math.floor(after.getTime() / MINUTE) * MINUTE + MINUTE;
  // Skips a whole day or hour at a time, so even a yearly schedule takes a few hundred steps.
  const limit = t + 5 * 366 * 24 * 60 * MINUTE;
  while (t <= limit) {
    const l = localTime(t, timeZone);
    const dom = s.daysOfMonth.has(l.day);
    const dow = s.daysOfWeek.has(l.weekday);
    const dayOk =
      s.dayOfMonthRestricted && s.dayOfWeekRestricted
        ? dom || dow
        : (!s.dayOfMonthRestricted || dom) && (!s.dayOfWeekRestricted || dow);
    if (!s.months.has(l.month) || !dayOk) {
      t += ((23 - l.hour) * 60 + (60 - l.minute)) * MINUTE;
    } else if (!s.hours.has(l.hour)) {
      t += (60 - l.minute) * MINUTE;
    } else if (!s.minutes.has(l.minute)) {
      t += MINUTE;
    } else {
      return new Date(t);
    }
  }
  throw new Error(`cron schedule "${typeof expr === 'string' ? expr : 'given'}" never fires`);
}

/** A maintenance window: opens at each time `schedule` fires and stays open `durationMs`. */
export interface MaintenanceWindow {
  readonly schedule: string;
  readonly durationMs: number;
}

/**
 * Whether the window is open at `at`: some opening time `t` of the schedule (read in
 * `timeZone`) has `t <= at < t + durationMs`. Minute resolution, like cron.
 */
export function isWindowOpen(window: MaintenanceWindow, at: Date, timeZone = 'UTC'): boolean {
  // The first opening after (at - duration) is the only one that can still be open at `at`.
  const opening = nextCronTime(window.schedule, new Date(at.getTime() - window.durationMs), timeZone);
  return opening.getTime() <= at.getTime();
}

/**
 * When maintenance may next start: `at` itself when the window is open then (or when there is no
 * window), else the window's next opening. The operator requeues a table at this time.
 */
export function nextWindowStart(window: MaintenanceWindow | undefined, at: Date, timeZone = 'UTC'): Date {
  if (window === undefined || isWindowOpen(window, at, timeZone)) return at;
  return nextCronTime(window.schedule, at, timeZone);
}
