import { readFileSync } from 'node:fs';
import { isLakehouseError } from '../../lib/errors.js';
import {
  LAKETABLE_DEFAULTS,
  LakeTableSpecError,
  catalogNames,
  deltaSchema,
  localStorageRoots,
  parseLakeTable,
  renderDefaultsMarkdown,
  resolveSettings,
  tableLocation,
  validateLakeTable,
  type SpecIssue,
} from '../../lib/spec/index.js';
import { BAD_DOCUMENTS, baseDoc, docWith, fullDoc } from './fixtures.js';

function issuesOf(doc: unknown): readonly SpecIssue[] {
  const r = validateLakeTable(doc, 'test.yaml');
  return r.ok ? [] : r.issues;
}

describe('valid LakeTable documents', () => {
  test('the minimal document is valid and keeps optional fields absent', () => {
    const t = parseLakeTable(baseDoc(), 'test.yaml');
    expect(t.metadata.name).toBe('orders');
    expect(t.spec.schema.columns[1]!.nullable).toBeUndefined();
    expect(t.spec.persistence).toBeUndefined();
  });

  test.each([
    's3://bucket/tables/orders',
    'abfss://lake@acct.dfs.core.windows.net/tables/orders',
    'gs://bucket/tables/orders',
    'file:///var/lake/orders',
    './.lakehouse/orders',
  ])('location %s is valid', (location) => {
    const doc = docWith((d) => {
      delete d.spec.zone;
      delete d.spec.path;
      d.spec.location = location;
    });
    expect(issuesOf(doc)).toEqual([]);
  });

  test('every field set at once is valid', () => {
    const doc = fullDoc();
    expect(issuesOf(doc)).toEqual([]);
  });

  test('a Kubernetes object with server-set metadata and a status is valid', () => {
    const doc = docWith((d) => {
      d.metadata = {
        name: 'orders',
        namespace: 'default',
        uid: '6f1c2a4e-0000-4000-8000-000000000000',
        resourceVersion: '1234',
        generation: 3,
        creationTimestamp: '2026-11-25T10:00:00Z',
        finalizers: ['lakehouse.dev/delete-table'],
        managedFields: [{ manager: 'kubectl' }],
      };
      d.status = {
        observedGeneration: 3,
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'Reconciled',
            message: 'ok',
            lastTransitionTime: '2026-11-25T10:01:00Z',
          },
        ],
        version: 12,
        files: 40,
        bytes: 123456789,
        smallFiles: 3,
        lastCompaction: {
          startTime: '2026-11-25T10:00:00Z',
          result: 'Succeeded',
          filesAdded: 1,
          filesRemoved: 20,
        },
      };
    });
    const t = parseLakeTable(doc, 'kubernetes default/orders');
    expect(t.status?.conditions?.[0]?.type).toBe('Ready');
    expect((t.metadata as Record<string, unknown>).uid).toBeDefined();
  });

  test('ephemeral data in the scratch zone with the unsafe short retention flag', () => {
    const doc = docWith((d) => {
      d.spec.zone = 'scratch';
      d.spec.persistence = 'ephemeral';
      d.spec.properties = { 'delta.deletedFileRetentionDuration': 'interval 1 day' };
      d.spec.maintenance = { vacuum: { retention: '24h', unsafeAllowShortRetention: true } };
    });
    expect(issuesOf(doc)).toEqual([]);
  });
});

describe('invalid LakeTable documents: each field says what is wrong and what to do', () => {
  test.each(BAD_DOCUMENTS)('%s', (_what, change, path, message) => {
    const issues = issuesOf(docWith(change));
    expect(issues.length).toBeGreaterThan(0);
    const match = issues.find((i) => i.path === path && message.test(i.message));
    if (!match)
      throw new Error(
        `expected an issue at ${path} matching ${message}, got:\n${JSON.stringify(issues, null, 2)}`,
      );
    expect(match.document).toMatch(/^test\.yaml/);
  });

  test('a document that is not a mapping', () => {
    expect(issuesOf(['a'])).toEqual([
      {
        document: 'test.yaml',
        path: '',
        message: 'not a LakeTable: expected a mapping with apiVersion, kind, metadata and spec',
      },
    ]);
    expect(issuesOf(null)[0]!.message).toMatch(/not a LakeTable/);
  });

  test('parseLakeTable throws INVALID_SPEC naming the document, the field and what to do', () => {
    const doc = docWith((d) => (d.spec.partitionBy = ['region']));
    let err: unknown;
    try {
      parseLakeTable(doc, 'tables/orders.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LakeTableSpecError);
    expect(isLakehouseError(err, 'INVALID_SPEC')).toBe(true);
    expect((err as Error).message).toBe(
      'tables/orders.yaml (LakeTable "orders"): spec.partitionBy[0]: "region" is not a column: add it to spec.schema.columns or remove it from partitionBy',
    );
    expect((err as LakeTableSpecError).issues).toHaveLength(1);
  });

  test('all issues of a document are reported together', () => {
    const doc = docWith((d) => {
      d.spec.zone = 'gold';
      d.spec.schemaEvolution = 'full';
      d.spec.schema.columns[0].type = 'text';
    });
    expect(issuesOf(doc).map((i) => i.path)).toEqual([
      'spec.zone',
      'spec.schema.columns[0].type',
      'spec.schemaEvolution',
    ]);
  });
});

describe('defaults, resolved settings and locations', () => {
  test('resolveSettings applies LAKETABLE_DEFAULTS to a minimal table', () => {
    const s = resolveSettings(parseLakeTable(baseDoc(), 't'));
    expect(s).toMatchObject({
      schemaEvolution: LAKETABLE_DEFAULTS.schemaEvolution,
      persistence: 'durable',
      deletionPolicy: 'Retain',
      checkpointInterval: 10,
      deletedFileRetentionMs: 7 * 86_400_000,
      logRetentionMs: 30 * 86_400_000,
      suspend: false,
      timeZone: 'UTC',
      compaction: {
        enabled: true,
        smallFileCount: LAKETABLE_DEFAULTS.smallFileCount,
        smallFileRatio: LAKETABLE_DEFAULTS.smallFileRatio,
        targetFileSizeBytes: 128 * 1024 * 1024,
        minFileSizeBytes: 96 * 1024 * 1024,
        zOrderBy: [],
      },
      checkpoint: { enabled: true, interval: 10 },
      vacuum: {
        enabled: true,
        schedule: '@daily',
        retentionMs: 7 * 86_400_000,
        unsafeAllowShortRetention: false,
      },
    });
    expect(s.window).toBeUndefined();
  });

  test('resolveSettings reads what the spec sets, including explicit zeros and false', () => {
    const t = parseLakeTable(
      docWith((d) => {
        d.spec.properties = {
          'delta.checkpointInterval': '25',
          'delta.deletedFileRetentionDuration': 'interval 14 days',
        };
        d.spec.maintenance = {
          suspend: true,
          window: { schedule: '0 1 * * *', duration: '1h30m', timeZone: 'Asia/Tokyo' },
          compaction: { enabled: false, targetFileSize: '64Mi', triggers: { smallFileCount: 1 } },
          vacuum: { enabled: false },
        };
      }),
      't',
    );
    const s = resolveSettings(t);
    expect(s.checkpointInterval).toBe(25);
    expect(s.checkpoint.interval).toBe(25);
    expect(s.deletedFileRetentionMs).toBe(14 * 86_400_000);
    expect(s.vacuum.retentionMs).toBe(14 * 86_400_000);
    expect(s.suspend).toBe(true);
    expect(s.timeZone).toBe('Asia/Tokyo');
    expect(s.window).toEqual({ schedule: '0 1 * * *', durationMs: 90 * 60_000 });
    expect(s.compaction).toMatchObject({
      enabled: false,
      targetFileSizeBytes: 64 * 1024 ** 2,
      minFileSizeBytes: 48 * 1024 ** 2,
      smallFileCount: 1,
    });
    expect(s.vacuum.enabled).toBe(false);
  });

  test('tableLocation resolves zone+path against the storage roots, or returns location', () => {
    const t = parseLakeTable(baseDoc(), 't');
    expect(tableLocation(t, { default: { curated: 's3://acme-curated/' } })).toBe(
      's3://acme-curated/sales/orders',
    );
    expect(tableLocation(t, localStorageRoots('/var/lake'))).toBe('/var/lake/curated/sales/orders');
    const other = parseLakeTable(
      docWith((d) => (d.spec.storage = 'eu')),
      't',
    );
    expect(tableLocation(other, { eu: { curated: 'gs://eu-curated' } })).toBe('gs://eu-curated/sales/orders');
    expect(() => tableLocation(other, { default: { curated: 'gs://x' } })).toThrow(
      /LakeTable "orders": storage "eu" has no root for zone "curated"; configured storages: default/,
    );
    const byUri = parseLakeTable(
      docWith((d) => {
        delete d.spec.zone;
        delete d.spec.path;
        d.spec.location = 's3://bucket/t/';
      }),
      't',
    );
    expect(tableLocation(byUri)).toBe('s3://bucket/t');
  });

  test('catalogNames derives database and table names', () => {
    expect(
      catalogNames(
        parseLakeTable(
          docWith((d) => (d.metadata.name = 'order-features.v2')),
          't',
        ),
      ),
    ).toEqual({
      enabled: true,
      database: 'curated',
      table: 'order_features_v2',
    });
    expect(
      catalogNames(
        parseLakeTable(
          docWith((d) => (d.spec.catalog = { enabled: false, database: 'x', table: 'y' })),
          't',
        ),
      ),
    ).toEqual({
      enabled: false,
      database: 'x',
      table: 'y',
    });
  });

  test('deltaSchema gives the Delta log schema with nullability and comments', () => {
    const t = parseLakeTable(
      docWith((d) => (d.spec.schema.columns[0].comment = 'the id')),
      't',
    );
    expect(deltaSchema(t).fields.slice(0, 2)).toEqual([
      { name: 'order_id', type: 'string', nullable: false, metadata: { comment: 'the id' } },
      { name: 'amount', type: 'decimal(12,2)', nullable: true, metadata: {} },
    ]);
  });

  test('the README documents exactly the defaults of LAKETABLE_DEFAULTS', () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(readme).toContain(renderDefaultsMarkdown());
  });
});
