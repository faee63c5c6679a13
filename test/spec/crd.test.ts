import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import {
  CRD_PATH,
  CROSS_FIELD_RULES,
  KNOWN_PROPERTIES,
  lakeTableOpenApiSchema,
  loadLakeTables,
  renderCrdYaml,
  validateLakeTable,
} from '../../lib/spec/index.js';
import { evaluateCelRules, kubernetesCelEnvironment, listCelRules } from './cel.js';
import { baseDoc, crossFieldCases, docWith, fullDoc } from './fixtures.js';

const env = kubernetesCelEnvironment();
const schema = lakeTableOpenApiSchema();

describe('the LakeTable CRD', () => {
  test('operator/deploy/crd.yaml is what the schema generates (run `npm run gen:crd` after changing lib/spec)', () => {
    expect(readFileSync(CRD_PATH, 'utf8')).toBe(renderCrdYaml());
  });

  test('names, scope, status subresource, printer columns and short name', () => {
    const crd = parse(readFileSync(CRD_PATH, 'utf8'));
    expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
    expect(crd.metadata.name).toBe('laketables.lakehouse.dev');
    expect(crd.spec.group).toBe('lakehouse.dev');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toMatchObject({
      kind: 'LakeTable',
      plural: 'laketables',
      singular: 'laketable',
      shortNames: ['lt'],
    });
    const [v] = crd.spec.versions;
    expect(v).toMatchObject({ name: 'v1alpha1', served: true, storage: true, subresources: { status: {} } });
    expect(v.additionalPrinterColumns.map((c: { name: string }) => c.name)).toEqual([
      'Version',
      'Files',
      'Small Files',
      'Score',
      'Ready',
      'Zone',
      'Location',
      'Age',
    ]);
    expect(v.additionalPrinterColumns.find((c: { name: string }) => c.name === 'Ready').jsonPath).toBe(
      '.status.conditions[?(@.type=="Ready")].status',
    );
  });

  test('the schema is structural: no $ref, no unions, no additionalProperties beside properties, every node typed', () => {
    const problems: string[] = [];
    const walk = (node: any, at: string): void => {
      for (const banned of [
        '$ref',
        '$defs',
        'definitions',
        'oneOf',
        'anyOf',
        'allOf',
        'not',
        'propertyNames',
        '$schema',
        'const',
      ]) {
        if (banned in node) problems.push(`${at}: has ${banned}`);
      }
      if (node.properties && 'additionalProperties' in node)
        problems.push(`${at}: properties and additionalProperties`);
      if (
        node.type === undefined &&
        !node['x-kubernetes-int-or-string'] &&
        !node['x-kubernetes-preserve-unknown-fields']
      )
        problems.push(`${at}: no type`);
      for (const [k, sub] of Object.entries(node.properties ?? {})) walk(sub, `${at}.${k}`);
      if (node.items) walk(node.items, `${at}[]`);
      if (typeof node.additionalProperties === 'object') walk(node.additionalProperties, `${at}{}`);
    };
    walk(schema, 'openAPIV3Schema');
    expect(problems).toEqual([]);
    expect(schema.properties).toHaveProperty('status');
    expect((schema.properties as any).metadata).toEqual({ type: 'object' });
  });

  test('every string and list a CEL rule reads is bounded, so the API server can estimate its cost', () => {
    const spec = (schema.properties as any).spec;
    expect(spec.properties.schema.properties.columns.maxItems).toBeGreaterThan(0);
    expect(spec.properties.schema.properties.columns.items.properties.name.maxLength).toBeGreaterThan(0);
    expect(spec.properties.schema.properties.columns.items.properties.type.maxLength).toBeGreaterThan(0);
    expect(spec.properties.partitionBy.maxItems).toBeGreaterThan(0);
    expect(spec.properties.properties.maxProperties).toBeGreaterThan(0);
    expect(spec.properties.properties.additionalProperties.maxLength).toBeGreaterThan(0);
  });

  test('every CEL rule compiles', () => {
    const rules = listCelRules(schema);
    expect(rules.length).toBeGreaterThan(20);
    for (const r of rules) expect(() => env.parse(r.rule)).not.toThrow();
  });
});

describe('CEL rules accept exactly what parseLakeTable accepts', () => {
  const goodDocs: [string, any][] = [
    ['base', baseDoc()],
    ['full', fullDoc()],
    [
      'location',
      docWith((d) => {
        delete d.spec.zone;
        delete d.spec.path;
        d.spec.location = 's3://b/t';
      }),
    ],
    [
      'scratch with unsafe retention',
      docWith((d) => {
        d.spec.zone = 'scratch';
        d.spec.persistence = 'ephemeral';
        d.spec.properties = { 'delta.deletedFileRetentionDuration': 'interval 1 day' };
        d.spec.maintenance = { vacuum: { retention: '24h', unsafeAllowShortRetention: true } };
      }),
    ],
    [
      'retention equal to the table retention',
      docWith((d) => {
        d.spec.properties = {
          'delta.deletedFileRetentionDuration': 'interval 2 weeks',
          'delta.checkpointInterval': '7',
        };
        d.spec.maintenance = {
          vacuum: { retention: '336h' },
          checkpoint: { interval: 7 },
          compaction: { minFileSize: '128Mi' },
        };
      }),
    ],
  ];

  test.each(goodDocs)('no rule fails on the valid %s document', (_name, doc) => {
    expect(validateLakeTable(doc, 't').ok).toBe(true);
    expect(evaluateCelRules(env, schema, doc)).toEqual([]);
  });

  test('no rule fails on the examples', async () => {
    for (const t of await loadLakeTables('examples/lakehouse'))
      expect(evaluateCelRules(env, schema, t)).toEqual([]);
  });

  // The cross-field rules: the TypeScript check and the CEL expression agree on every document
  // that is otherwise well-formed.
  const cases = crossFieldCases();

  test('the cross-field cases cover every rule that has a CEL expression', () => {
    const covered = new Set(cases.flatMap(([, , broken]) => broken.map((r) => r.id)));
    for (const rule of CROSS_FIELD_RULES.filter((r) => r.cel !== undefined))
      expect([rule.id, covered.has(rule.id)]).toEqual([rule.id, true]);
  });

  test.each(cases)('%s: CEL refuses what the check refuses, with the rule\u2019s message', (_what, doc) => {
    const failing = evaluateCelRules(env, schema, doc);
    expect(failing.filter((f) => f.error !== undefined)).toEqual([]);
    for (const rule of CROSS_FIELD_RULES.filter((r) => r.cel !== undefined)) {
      const refusedByCheck = rule.check(doc.spec).length > 0;
      const refusedByCel = failing.some((f) => f.at === 'spec' && f.rule === rule.cel);
      expect([rule.id, refusedByCel]).toEqual([rule.id, refusedByCheck]);
    }
  });

  const propertyValues: [string, string, boolean][] = [
    ['delta.logRetentionDuration', 'interval 30 days', true],
    ['delta.logRetentionDuration', 'interval 1 week', true],
    ['delta.logRetentionDuration', '30 days', false],
    ['delta.deletedFileRetentionDuration', 'interval 7 days', true],
    ['delta.deletedFileRetentionDuration', 'interval 7 Days', false],
    ['delta.checkpointInterval', '10', true],
    ['delta.checkpointInterval', '0', false],
    ['delta.checkpointInterval', '1e3', false],
    ['delta.dataSkippingNumIndexedCols', '-1', true],
    ['delta.dataSkippingNumIndexedCols', '32', true],
    ['delta.dataSkippingNumIndexedCols', '-2', false],
    ['delta.dataSkippingStatsColumns', 'order_id,amount', true],
    ['delta.dataSkippingStatsColumns', 'order_id, amount', false],
    ['delta.columnMapping.mode', 'name', true],
    ['delta.columnMapping.mode', 'Name', false],
    ['delta.isolationLevel', 'WriteSerializable', true],
    ['delta.appendOnly', 'true', true],
    ['delta.appendOnly', 'True', false],
    ['delta.enableDeletionVectors', 'false', true],
    ['delta.enableDeletionVectors', '1', false],
    ['fs.azure.sas.token', 'x', false],
    ['aws.secretAccessKey', 'x', false],
    ['owner.team', 'orders', true],
    ['has space', 'x', false],
  ];

  test.each(propertyValues)('properties[%j] = %j: valid %s in both', (key, value, valid) => {
    const doc = docWith((d) => (d.spec.properties = { [key]: value }));
    expect(validateLakeTable(doc, 't').ok).toBe(valid);
    expect(evaluateCelRules(env, schema, doc).length === 0).toBe(valid);
  });

  test.each([
    ['sales/_delta_log', false],
    ['_delta_log/x', false],
    ['sales/delta_logs', true],
    ['sales/x_delta_log', true],
  ])('path %j: valid %s in both', (p, valid) => {
    const doc = docWith((d) => (d.spec.path = p));
    expect(validateLakeTable(doc, 't').ok).toBe(valid);
    expect(evaluateCelRules(env, schema, doc).length === 0).toBe(valid);
  });

  test('every known property has a CEL rule', () => {
    const rules = listCelRules(schema).filter((r) => r.at === 'spec.properties');
    for (const key of Object.keys(KNOWN_PROPERTIES))
      expect(rules.some((r) => r.rule.includes(`'${key}'`))).toBe(true);
  });
});
