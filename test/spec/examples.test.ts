import {
  catalogNames,
  deltaTypeToBigQueryType,
  deltaTypeToHiveType,
  loadLakeTables,
  localStorageRoots,
  resolveSettings,
  tableLocation,
  type LakeTable,
} from '../../lib/spec/index.js';

let tables: LakeTable[];
beforeAll(async () => {
  tables = await loadLakeTables('examples/lakehouse');
});
const byName = (name: string): LakeTable => {
  const t = tables.find((x) => x.metadata.name === name);
  if (!t) throw new Error(`examples/lakehouse has no LakeTable "${name}"`);
  return t;
};
const columnNames = (t: LakeTable) => t.spec.schema.columns.map((c) => c.name);

describe('the order-fallout pipeline examples', () => {
  test('five tables, one per role, in the zones the pipeline uses', () => {
    expect(tables.map((t) => [t.metadata.name, t.spec.zone, t.spec.persistence ?? 'durable']).sort()).toEqual(
      [
        ['fallout-predictions', 'curated', 'durable'],
        ['model-registry', 'models', 'durable'],
        ['order-features', 'curated', 'durable'],
        ['raw-order-fallouts', 'raw', 'durable'],
        ['scoring-session-cache', 'scratch', 'ephemeral'],
      ],
    );
  });

  test('curated order features are partitioned by day', () => {
    const t = byName('order-features');
    expect(t.spec.partitionBy).toEqual(['day']);
    expect(t.spec.schema.columns.find((c) => c.name === 'day')?.type).toBe('date');
  });

  test('the model registry records name, version, artifact URI and metrics', () => {
    expect(columnNames(byName('model-registry'))).toEqual(
      expect.arrayContaining(['model_name', 'model_version', 'artifact_uri', 'metrics']),
    );
    expect(byName('model-registry').spec.schema.columns.find((c) => c.name === 'metrics')?.type).toBe(
      'map<string,double>',
    );
  });

  test('predictions are written back next to the features, keyed by order and model version', () => {
    expect(columnNames(byName('fallout-predictions'))).toEqual(
      expect.arrayContaining(['order_id', 'model_name', 'model_version', 'fallout_probability', 'scored_at']),
    );
  });

  test('the scratch table is ephemeral and deleted with its resource', () => {
    const t = byName('scoring-session-cache');
    expect(resolveSettings(t)).toMatchObject({ persistence: 'ephemeral', deletionPolicy: 'Delete' });
    expect(catalogNames(t).enabled).toBe(false);
  });

  test('every table resolves to a location under the embedded default ./.lakehouse', () => {
    const roots = localStorageRoots('/work/.lakehouse');
    expect(tables.map((t) => tableLocation(t, roots)).sort()).toEqual([
      '/work/.lakehouse/curated/order_fallout/fallout_predictions',
      '/work/.lakehouse/curated/order_fallout/order_features',
      '/work/.lakehouse/models/registry/model_versions',
      '/work/.lakehouse/raw/order_fallout/order_fallouts',
      '/work/.lakehouse/scratch/scoring/session_cache',
    ]);
  });

  test('every column maps to Glue/Athena and BigQuery types', () => {
    const raw = byName('raw-order-fallouts').spec.schema.columns;
    const items = raw.find((c) => c.name === 'items')!;
    expect(deltaTypeToHiveType(items.type)).toBe(
      'array<struct<sku:string,quantity:int,unit_price:decimal(10,2)>>',
    );
    expect(deltaTypeToBigQueryType(items.type)).toBe(
      'ARRAY<STRUCT<sku STRING, quantity INT64, unit_price NUMERIC(10, 2)>>',
    );
    for (const t of tables) {
      for (const c of t.spec.schema.columns) {
        expect(deltaTypeToHiveType(c.type)).toMatch(/^[a-z]/);
        expect(deltaTypeToBigQueryType(c.type)).toMatch(/^[A-Z]/);
      }
    }
  });
});
