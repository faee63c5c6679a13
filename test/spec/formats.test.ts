import {
  cronError,
  formatSize,
  isWindowOpen,
  nextCronTime,
  nextWindowStart,
  parseDeltaInterval,
  parseDuration,
  parseSize,
} from '../../lib/spec/index.js';

describe('durations (spec fields)', () => {
  test.each([
    ['168h', 168 * 3600_000],
    ['90m', 90 * 60_000],
    ['1h30m', 90 * 60_000],
    ['45s', 45_000],
    ['2h0m10s', 7210_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  test.each(['', '7d', '1.5h', 'h', '30m1h', ' 1h', '1H', 'interval 7 days'])(
    '%j is not a duration',
    (text) => expect(parseDuration(text)).toBeUndefined(),
  );
});

describe('Delta intervals (table properties)', () => {
  test.each([
    ['interval 7 days', 7 * 86_400_000],
    ['interval 1 day', 86_400_000],
    ['interval 168 hours', 168 * 3600_000],
    ['interval 2 weeks', 14 * 86_400_000],
    ['interval 30 minutes', 30 * 60_000],
    ['interval 10 seconds', 10_000],
  ])('%s is %d ms', (text, ms) => expect(parseDeltaInterval(text)).toBe(ms));

  test.each([
    '7 days',
    'interval 7 day s',
    'INTERVAL 7 DAYS',
    'interval 7 months',
    'interval -1 days',
    '168h',
  ])('%j is not a Delta interval', (text) => expect(parseDeltaInterval(text)).toBeUndefined());
});

describe('sizes', () => {
  test.each([
    ['128Mi', 128 * 1024 ** 2],
    ['1Gi', 1024 ** 3],
    ['1.5Ki', 1536],
    ['512M', 512e6],
    ['134217728', 134217728],
    ['2T', 2e12],
  ])('%s is %d bytes', (text, n) => expect(parseSize(text)).toBe(n));

  test.each(['128MiB', '128 Mi', '-1', 'Mi', '1e6', '128mi'])('%j is not a size', (text) =>
    expect(parseSize(text)).toBeUndefined(),
  );

  test('formatSize prints whole binary units', () => {
    expect(formatSize(128 * 1024 ** 2)).toBe('128Mi');
    expect(formatSize(96 * 1024 ** 2)).toBe('96Mi');
    expect(formatSize(1000)).toBe('1000');
  });
});

describe('cron schedules', () => {
  test.each([
    '0 2 * * *',
    '*/15 * * * *',
    '0 1-5/2 * * mon-fri',
    '30 3 1,15 * *',
    '0 0 * jan,jul sun',
    '0 0 * * 7',
    '@daily',
    '@hourly',
    '@weekly',
    '@monthly',
    '@yearly',
  ])('%j is valid', (expr) => expect(cronError(expr)).toBeUndefined());

  test.each([
    ['61 * * * *', /minute field "61": 61 is outside 0-59/],
    ['0 24 * * *', /hour field "24": 24 is outside 0-23/],
    ['0 0 0 * *', /day-of-month field "0": 0 is outside 1-31/],
    ['0 0 * 13 *', /month field "13": 13 is outside 1-12/],
    ['0 0 * * 8', /day-of-week field "8": 8 is outside 0-7/],
    ['* * * *', /has 4 fields, cron needs 5/],
    ['0 5-1 * * *', /hour range "5-1" runs backwards/],
    ['*/0 * * * *', /step "\/0" must be at least 1/],
    ['0 0 * * funday', /"funday" is not a number/],
    ['@fortnightly', /has 1 field, cron needs 5/],
  ])('%j is refused: %s', (expr, message) => {
    const err = cronError(expr);
    expect(err).toMatch(message);
    expect(err).toMatch(/use five fields "minute hour day-of-month month day-of-week"/);
  });

  test('nextCronTime finds the next run in UTC', () => {
    const after = new Date('2026-11-25T10:17:30Z');
    expect(nextCronTime('0 2 * * *', after).toISOString()).toBe('2026-11-26T02:00:00.000Z');
    expect(nextCronTime('*/15 * * * *', after).toISOString()).toBe('2026-11-25T10:30:00.000Z');
    expect(nextCronTime('@monthly', after).toISOString()).toBe('2026-12-01T00:00:00.000Z');
    // Strictly after: a schedule due exactly now runs next time.
    expect(nextCronTime('0 2 * * *', new Date('2026-11-26T02:00:00Z')).toISOString()).toBe(
      '2026-11-27T02:00:00.000Z',
    );
    // Day-of-month OR day-of-week when both are restricted (cron semantics): the 1st, or a Monday.
    expect(nextCronTime('0 0 1 * mon', after).toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(nextCronTime('0 0 29 2 *', after).toISOString()).toBe('2028-02-29T00:00:00.000Z');
  });

  test('nextCronTime reads the schedule in a time zone, across a DST change', () => {
    // 01:00 in Berlin is 00:00 UTC in winter (CET) and 23:00 UTC the day before in summer (CEST).
    expect(nextCronTime('0 1 * * *', new Date('2026-11-25T10:00:00Z'), 'Europe/Berlin').toISOString()).toBe(
      '2026-11-26T00:00:00.000Z',
    );
    expect(nextCronTime('0 1 * * *', new Date('2026-07-01T10:00:00Z'), 'Europe/Berlin').toISOString()).toBe(
      '2026-07-01T23:00:00.000Z',
    );
    // Clocks go forward at 02:00 on 2026-03-29 in Berlin: 02:30 does not exist that day.
    expect(nextCronTime('30 2 * * *', new Date('2026-03-28T12:00:00Z'), 'Europe/Berlin').toISOString()).toBe(
      '2026-03-30T00:30:00.000Z',
    );
  });

  test('nextCronTime refuses a schedule that never fires', () => {
    expect(() => nextCronTime('0 0 31 2 *', new Date('2026-01-01T00:00:00Z'))).toThrow(/never fires/);
  });
});

describe('maintenance windows', () => {
  const nightly = { schedule: '0 1 * * *', durationMs: 4 * 3600_000 }; // 01:00-05:00

  test.each([
    ['2026-11-25T00:59:00Z', false],
    ['2026-11-25T01:00:00Z', true],
    ['2026-11-25T03:30:00Z', true],
    ['2026-11-25T04:59:00Z', true],
    ['2026-11-25T05:00:00Z', false],
    ['2026-11-25T12:00:00Z', false],
  ])('a 01:00 UTC window of 4h at %s is open: %s', (at, open) => {
    expect(isWindowOpen(nightly, new Date(at))).toBe(open);
  });

  test('a window crossing midnight, read in a time zone', () => {
    const late = { schedule: '0 22 * * *', durationMs: 4 * 3600_000 }; // 22:00-02:00 Berlin
    expect(isWindowOpen(late, new Date('2026-11-25T00:30:00Z'), 'Europe/Berlin')).toBe(true); // 01:30 CET
    expect(isWindowOpen(late, new Date('2026-11-25T01:30:00Z'), 'Europe/Berlin')).toBe(false); // 02:30 CET
    expect(isWindowOpen(late, new Date('2026-11-25T21:00:00Z'), 'Europe/Berlin')).toBe(true); // 22:00 CET
  });

  test('nextWindowStart: now when open or without a window, else the next opening', () => {
    const now = new Date('2026-11-25T12:00:00Z');
    expect(nextWindowStart(undefined, now)).toBe(now);
    expect(nextWindowStart(nightly, now).toISOString()).toBe('2026-11-26T01:00:00.000Z');
    const inside = new Date('2026-11-26T02:00:00Z');
    expect(nextWindowStart(nightly, inside)).toBe(inside);
  });
});
