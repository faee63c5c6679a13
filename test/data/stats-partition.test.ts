import { deltaSchemaToArrow } from '../../lib/delta/arrow-schema.js';
import { batchFromRows } from '../../lib/data/arrow-build.js';
import {
  dataFileName,
  encodeAddPath,
  escapePartitionText,
  parsePartitionValue,
  partitionFolder,
  serializePartitionValue,
  unescapePartitionText,
} from '../../lib/data/partition.js';
import { compareStrings, StatsCollector, truncateMax, truncateMin } from '../../lib/data/stats.js';
import { ALL_TYPES, ALL_TYPES_ROWS } from './fixtures.js';

describe('partition paths', () => {
  it('escapes like Hive and encodes the add path once more', () => {
    expect(escapePartitionText('a/b:c=d%e f')).toBe('a%2Fb%3Ac%3Dd%25e f');
    expect(unescapePartitionText('a%2Fb%3Ac%3Dd%25e f')).toBe('a/b:c=d%e f');
    const folder = partitionFolder(['day', 'city'], { day: '2026-01-01 00:00:00', city: null });
    expect(folder).toBe('day=2026-01-01 00%3A00%3A00/city=__HIVE_DEFAULT_PARTITION__');
    expect(encodeAddPath(`${folder}/x.parquet`)).toBe(
      'day=2026-01-01%2000%253A00%253A00/city=__HIVE_DEFAULT_PARTITION__/x.parquet',
    );
  });

  it('serializes and parses partition values by type', () => {
    expect(serializePartitionValue('date', 20454)).toBe('2026-01-01');
    expect(serializePartitionValue('timestamp', 1767225600000001n)).toBe('2026-01-01T00:00:00.000001Z');
    expect(serializePartitionValue('timestamp_ntz', 1767225600000001n)).toBe('2026-01-01 00:00:00.000001');
    expect(serializePartitionValue('decimal(5,2)', -5n)).toBe('-0.05');
    expect(serializePartitionValue('string', '')).toBeNull();
    expect(serializePartitionValue('integer', null)).toBeNull();
    expect(parsePartitionValue('date', '2026-01-01', 'day')).toBe(20454);
    expect(parsePartitionValue('timestamp', '2026-01-01 00:00:00.000001', 'ts')).toBe(1767225600000001n);
    expect(parsePartitionValue('long', '-7', 'l')).toBe(-7n);
    expect(parsePartitionValue('integer', null, 'i')).toBeNull();
    expect(() => parsePartitionValue('integer', 'x', 'i')).toThrow(
      'partition column i (integer): cannot parse partition value "x"',
    );
  });

  it('names data files as Spark does', () => {
    expect(dataFileName(3, 'u-u-i-d', 'snappy')).toBe('part-00003-u-u-i-d.c000.snappy.parquet');
  });
});

describe('statistics', () => {
  it('orders strings by code point and keeps truncated bounds true', () => {
    expect(compareStrings('\uffff', '\u{10000}')).toBeLessThan(0);
    const long = 'x'.repeat(40);
    expect(truncateMin(long)).toBe('x'.repeat(32));
    expect(truncateMax(long)).toBe(`${'x'.repeat(31)}y`);
    expect(truncateMax(`${'a'.repeat(31)}\u{10FFFF}zz`)).toBe(`${'a'.repeat(30)}b`);
    expect(truncateMax('\u{10FFFF}'.repeat(33))).toBeUndefined();
    expect(truncateMax('short')).toBe('short');
  });

  it('collects numRecords, bounds and null counts per leaf', () => {
    const collector = new StatsCollector(deltaSchemaToArrow(ALL_TYPES).fields);
    const batch = batchFromRows(deltaSchemaToArrow(ALL_TYPES), ALL_TYPES_ROWS);
    collector.update(batch);
    collector.update(batch);
    expect(JSON.parse(collector.toJson())).toEqual({
      numRecords: 4,
      minValues: {
        b: -128,
        s: 32767,
        i: 1,
        l: -5,
        f: 1.5,
        dec: -12345678.9,
        str: '',
        day: '1969-12-31',
        ts: '1970-01-01T00:00:00.000Z',
        ntz: '1900-01-01T00:00:00.000',
        st: { x: 7 },
      },
      maxValues: {
        b: -128,
        s: 32767,
        i: 2,
        l: 9007199254740992,
        f: 1.5,
        dec: 0.05,
        str: 'héllo "world"',
        day: '1969-12-31',
        ts: '2026-01-02T03:04:05.124Z',
        ntz: '1900-01-01T00:00:00.001',
        st: { x: 7 },
      },
      nullCount: {
        b: 2,
        s: 2,
        i: 0,
        l: 0,
        f: 2,
        d: 0,
        dec: 0,
        str: 0,
        bin: 2,
        bool: 0,
        day: 2,
        ts: 0,
        ntz: 2,
        st: { x: 2, y: 4 },
        arr: 0,
        m: 2,
      },
    });
    // 64-bit integers and decimals are written exactly, not through a double.
    expect(collector.toJson()).toContain('"l":9007199254740993');
    expect(collector.toJson()).toContain('"dec":-12345678.90');
  });

  it('indexes only the first N leaf columns', () => {
    const collector = new StatsCollector(deltaSchemaToArrow(ALL_TYPES).fields, 2);
    collector.update(batchFromRows(deltaSchemaToArrow(ALL_TYPES), ALL_TYPES_ROWS));
    expect(JSON.parse(collector.toJson())).toEqual({
      numRecords: 2,
      minValues: { b: -128, s: 32767 },
      maxValues: { b: -128, s: 32767 },
      nullCount: { b: 1, s: 1 },
    });
  });
});
