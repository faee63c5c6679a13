import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  canonicalSort,
  peerBatch,
  peersConfig,
  unwrap,
  type PeerField,
  type PeerOutcome,
  type PeerRequest,
} from '../harness/peers.js';

// The smoke test of the test environment: each reference engine writes a small table with the
// types the canonical encoding covers, and the other one reads it back row for row.

/** Every column nullable: with a NOT NULL column delta-rs 1.6 writes a (3,7) protocol without the
 * `invariants` feature that Delta for Spark then requires (see the README's test environment). */
const schema: PeerField[] = [
  { name: 'id', type: 'long' },
  { name: 'small', type: 'short' },
  { name: 'ratio', type: 'double' },
  { name: 'price', type: 'decimal(10,2)' },
  { name: 'name', type: 'string' },
  { name: 'blob', type: 'binary' },
  { name: 'flag', type: 'boolean' },
  { name: 'day', type: 'date' },
  { name: 'at', type: 'timestamp' },
  { name: 'local', type: 'timestamp_ntz' },
  {
    name: 'point',
    type: {
      type: 'struct',
      fields: [
        { name: 'x', type: 'integer', nullable: true, metadata: {} },
        { name: 'label', type: 'string', nullable: true, metadata: {} },
      ],
    },
  },
  { name: 'tags', type: { type: 'array', elementType: 'string', containsNull: true } },
  { name: 'attrs', type: { type: 'map', keyType: 'string', valueType: 'long', valueContainsNull: true } },
  { name: 'region', type: 'string' },
];

const rows = [
  {
    id: 1,
    small: -3,
    ratio: 0.1,
    price: '12.30',
    name: 'héllo "quoted"\n',
    blob: 'AAEC/w==',
    flag: true,
    day: '2024-02-29',
    at: '2024-01-02T03:04:05.123456Z',
    local: '2024-01-02T03:04:05.000001',
    point: { x: 7, label: 'a' },
    tags: ['x', null],
    attrs: [
      ['k', 1],
      ['j', null],
    ],
    region: 'eu west',
  },
  {
    id: '9007199254740993',
    small: null,
    ratio: 'NaN',
    price: '-0.05',
    name: '',
    blob: '',
    flag: false,
    day: '1969-12-31',
    at: '1900-01-01T00:00:00.000000Z',
    local: '9999-12-31T23:59:59.999999',
    point: null,
    tags: [],
    attrs: [],
    region: 'us',
  },
  {
    id: 3,
    small: 32767,
    ratio: 1e21,
    price: null,
    name: null,
    blob: null,
    flag: null,
    day: null,
    at: null,
    local: null,
    point: { x: null, label: null },
    tags: null,
    attrs: null,
    region: null,
  },
];

/** What the canonical encoding of `rows` must be, written out by hand. */
const expected = canonicalSort([
  '{"id":1,"small":-3,"ratio":0.1,"price":"12.30","name":"héllo \\"quoted\\"\\n","blob":"AAEC/w==","flag":true,' +
    '"day":"2024-02-29","at":"2024-01-02T03:04:05.123456Z","local":"2024-01-02T03:04:05.000001",' +
    '"point":{"x":7,"label":"a"},"tags":["x",null],"attrs":[["k",1],["j",null]],"region":"eu west"}',
  '{"id":"9007199254740993","small":null,"ratio":"NaN","price":"-0.05","name":"","blob":"","flag":false,' +
    '"day":"1969-12-31","at":"1900-01-01T00:00:00.000000Z","local":"9999-12-31T23:59:59.999999",' +
    '"point":null,"tags":[],"attrs":[],"region":"us"}',
  '{"id":3,"small":32767,"ratio":1e+21,"price":null,"name":null,"blob":null,"flag":null,"day":null,"at":null,' +
    '"local":null,"point":{"x":null,"label":null},"tags":null,"attrs":null,"region":null}',
]);

describe('Python peers (delta-rs and Spark + Delta)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lk-peers-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('the environment lists pinned versions and the offline Delta jars', () => {
    const config = peersConfig();
    expect(config.versions.deltaJar).toBe(
      `io.delta:delta-spark_${config.versions.pyspark.split('.').slice(0, 2).join('.')}_2.13:${config.versions['delta-spark']}`,
    );
    expect(config.jars.some((jar) => path.basename(jar).startsWith('delta-spark_'))).toBe(true);
  });

  test('a peer that does not answer in time is killed and the batch fails saying so', async () => {
    await expect(peerBatch('delta-rs', [{ op: 'version', table: dir }], { timeoutMs: 50 })).rejects.toThrow(
      /peer delta-rs: no answer within 50 ms/,
    );
  });

  test('an unknown operation or a missing table fails alone, the rest of the batch is served', async () => {
    const table = path.join(dir, 'one-row');
    const outcomes = await peerBatch('delta-rs', [
      { op: 'version', table: path.join(dir, 'nothing-here') },
      { op: 'compact', table } as unknown as PeerRequest,
      { op: 'write', table, schema: [{ name: 'id', type: 'long' }], rows: [{ id: 5 }] },
      { op: 'read', table, columns: ['id'] },
    ]);
    expect(outcomes[0]).toEqual({ ok: false, error: expect.stringMatching(/TableNotFoundError/) });
    expect(outcomes[1]).toEqual({ ok: false, error: expect.stringMatching(/op must be one of read, files/) });
    expect(outcomes[2]).toEqual({ ok: true, version: 0 });
    expect(outcomes[3]).toMatchObject({ ok: true, rows: ['{"id":5}'], numRows: 1, version: 0 });
  });

  test(
    'delta-rs writes, Spark reads identically; Spark writes, delta-rs reads identically',
    async () => {
      const byDeltaRs = path.join(dir, 'by-delta-rs');
      const bySpark = path.join(dir, 'by-spark');

      const [written, ownRead, ownFiles] = await peerBatch('delta-rs', [
        { op: 'write', table: byDeltaRs, schema, rows, partitionBy: ['region'] },
        { op: 'read', table: byDeltaRs },
        { op: 'files', table: byDeltaRs },
      ]);
      expect(unwrap('delta-rs', 'write', byDeltaRs, written).version).toBe(0);
      const deltaRsRead = unwrap('delta-rs', 'read', byDeltaRs, ownRead);
      expect(deltaRsRead.rows).toEqual(expected);
      const deltaRsFiles = unwrap('delta-rs', 'files', byDeltaRs, ownFiles).files;
      // One file per partition, named by its (Hive-escaped) value; null is the default partition.
      expect(deltaRsFiles.map((f) => f.split('/')[0])).toEqual([
        'region=__HIVE_DEFAULT_PARTITION__',
        'region=eu%20west',
        'region=us',
      ]);

      // One JVM for everything Spark does here.
      const spark = await peerBatch('spark', [
        { op: 'read', table: byDeltaRs },
        { op: 'files', table: byDeltaRs },
        { op: 'version', table: byDeltaRs },
        { op: 'write', table: bySpark, schema, rows, partitionBy: ['region'] },
        { op: 'write', table: bySpark, schema, rows: rows.slice(0, 1) },
        { op: 'read', table: bySpark },
        { op: 'files', table: bySpark },
        { op: 'read', table: path.join(dir, 'missing') },
      ]);
      const sparkRead = unwrap('spark', 'read', byDeltaRs, spark[0]);
      expect(sparkRead.rows).toEqual(expected);
      expect(sparkRead.version).toBe(0);
      expect(unwrap('spark', 'files', byDeltaRs, spark[1]).files).toEqual(deltaRsFiles);
      expect(unwrap('spark', 'version', byDeltaRs, spark[2]).version).toBe(0);
      expect(unwrap('spark', 'write', bySpark, spark[3]).version).toBe(0);
      expect(unwrap('spark', 'write', bySpark, spark[4]).version).toBe(1);
      const sparkOwn = unwrap('spark', 'read', bySpark, spark[5]);
      expect(sparkOwn.rows).toEqual(
        canonicalSort([...expected, expected.find((r) => r.startsWith('{"id":1,'))!]),
      );
      // A failing request reports its error and leaves the rest of the batch alone.
      const sparkOwnFiles = unwrap('spark', 'files', bySpark, spark[6]).files;
      expect(sparkOwnFiles).toHaveLength(4); // 3 partitions, then 1 more file
      expect(spark[7]).toEqual({ ok: false, error: expect.stringMatching(/PATH_NOT_FOUND|does not exist/) });

      const [back, backFiles, backVersion] = await peerBatch('delta-rs', [
        { op: 'read', table: bySpark },
        { op: 'files', table: bySpark },
        { op: 'version', table: bySpark },
      ]);
      const deltaRsBack = unwrap('delta-rs', 'read', bySpark, back);
      expect(deltaRsBack.rows).toEqual(sparkOwn.rows);
      expect(deltaRsBack.version).toBe(1);
      expect(unwrap('delta-rs', 'version', bySpark, backVersion).version).toBe(1);
      expect(unwrap('delta-rs', 'files', bySpark, backFiles).files).toEqual(sparkOwnFiles);
    },
    15 * 60_000,
  );

  test(
    "both engines delete, optimize, checkpoint and vacuum alike, and read each other's result",
    async () => {
      const columns: PeerField[] = [
        { name: 'id', type: 'long' },
        { name: 'v', type: 'string' },
      ];
      const maintain = (table: string): PeerRequest[] => [
        {
          op: 'write',
          table,
          schema: columns,
          rows: [
            { id: 1, v: 'a' },
            { id: 2, v: 'b' },
          ],
        },
        { op: 'write', table, schema: columns, rows: [{ id: 3, v: 'c' }] },
        { op: 'delete', table, predicate: 'id = 2' },
        { op: 'optimize', table },
        { op: 'checkpoint', table },
        { op: 'vacuum', table, retentionHours: 0 },
        { op: 'read', table },
        { op: 'files', table },
        { op: 'history', table },
      ];
      const byDeltaRs = path.join(dir, 'maintained-by-delta-rs');
      const bySpark = path.join(dir, 'maintained-by-spark');
      const deltaRs = await peerBatch('delta-rs', maintain(byDeltaRs));
      const spark = await peerBatch('spark', [
        ...maintain(bySpark),
        { op: 'read', table: byDeltaRs },
        { op: 'files', table: byDeltaRs },
      ]);
      const deltaRsBack = await peerBatch('delta-rs', [
        { op: 'read', table: bySpark },
        { op: 'files', table: bySpark },
      ]);

      const survivors = ['{"id":1,"v":"a"}', '{"id":3,"v":"c"}'];
      for (const [engine, table, outcomes] of [
        ['delta-rs', byDeltaRs, deltaRs],
        ['spark', bySpark, spark],
      ] as const) {
        const versions = outcomes.slice(0, 6).map((o, i) => {
          if (!o.ok) throw new Error(`${engine} request ${i}: ${o.error}`);
          return (o as { version: number }).version;
        });
        // VACUUM commits twice (VACUUM START, VACUUM END); a checkpoint commits nothing.
        expect(versions).toEqual([0, 1, 2, 3, 3, 5]);
        const read = outcomes[6] as PeerOutcome<'read'>;
        expect(unwrap(engine, 'read', table, read)).toMatchObject({ rows: survivors, version: 5 });
        // After OPTIMIZE and a zero-hour VACUUM, one file is left and it is the only one on disk.
        const files = unwrap(engine, 'files', table, outcomes[7] as PeerOutcome<'files'>).files;
        expect(files).toHaveLength(1);
        expect(readdirSync(table).filter((f) => f.endsWith('.parquet'))).toEqual(files);
        expect(existsSync(path.join(table, '_delta_log', '00000000000000000003.checkpoint.parquet'))).toBe(
          true,
        );
        const history = unwrap(engine, 'history', table, outcomes[8] as PeerOutcome<'history'>).entries;
        expect(history.map((e) => [e.version, e.operation])).toEqual([
          [5, 'VACUUM END'],
          [4, 'VACUUM START'],
          [3, 'OPTIMIZE'],
          [2, 'DELETE'],
          [1, 'WRITE'],
          [0, 'WRITE'],
        ]);
      }
      expect(unwrap('spark', 'read', byDeltaRs, spark[9] as PeerOutcome<'read'>).rows).toEqual(survivors);
      expect(unwrap('spark', 'files', byDeltaRs, spark[10] as PeerOutcome<'files'>).files).toEqual(
        unwrap('delta-rs', 'files', byDeltaRs, deltaRs[7] as PeerOutcome<'files'>).files,
      );
      expect(unwrap('delta-rs', 'read', bySpark, deltaRsBack[0]).rows).toEqual(survivors);
      expect(unwrap('delta-rs', 'files', bySpark, deltaRsBack[1]).files).toEqual(
        unwrap('spark', 'files', bySpark, spark[7] as PeerOutcome<'files'>).files,
      );
    },
    15 * 60_000,
  );
});
