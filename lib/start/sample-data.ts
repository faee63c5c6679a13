/**
 * Sample data for the order-fallout pipeline of `examples/lakehouse/`, as `lakehouse start` writes
 * it: orders that fell out of the happy path (raw), features per order and day (curated), the
 * fallout model's scores (curated), the model registry (models) and a scoring session cache
 * (scratch). Many small appends, as streaming ingestion and hourly jobs produce them, so that
 * compaction has work.
 *
 * Deterministic: run `n` (counted by the idempotent-write version each table records under
 * SAMPLE_APP_ID) always produces the same rows and covers the next days of the timeline, so a
 * second `npm start` appends new days, and an interrupted run repeats nothing it committed.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { deltaSchemaToArrow } from '../delta/arrow-schema.js';
import { Snapshot } from '../delta/snapshot.js';
import { batchFromRows } from '../data/arrow-build.js';
import { isLakehouseError } from '../errors.js';
import { writeTable } from '../ops/write.js';
import type { ObjectStore } from '../storage/object-store.js';

/** The app id of the sample writes (`txn.appId`): its version counts the appends so far. */
export const SAMPLE_APP_ID = 'lakehouse-start-sample-data';

/** Days of the timeline one run covers. */
export const DAYS_PER_RUN = 3;
/** The first day of the timeline (run 0). */
export const TIMELINE_START = Date.UTC(2026, 9, 1);

const DAY = 86_400_000;

/** How many appends of how many rows one run writes to each example table. */
export const SAMPLE_VOLUME: Readonly<Record<string, { appends: number; rows: number }>> = {
  'raw-order-fallouts': { appends: 30, rows: 3000 },
  'order-features': { appends: 30, rows: 3000 },
  'fallout-predictions': { appends: 20, rows: 2500 },
  'model-registry': { appends: 2, rows: 2 },
  'scoring-session-cache': { appends: 10, rows: 500 },
};

/** What one table received. */
export interface SampleWrite {
  readonly table: string;
  readonly rows: number;
  readonly appends: number;
  readonly files: number;
  readonly bytes: number;
  readonly version: number;
  /** First and last day covered, `YYYY-MM-DD`. */
  readonly days: readonly [string, string];
}

/** Seeded PRNG (mulberry32): the same seed gives the same rows on every machine. */
class Random {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  /** Picks with weights (same length as items). */
  weighted<T>(items: readonly T[], weights: readonly number[]): T {
    const total = weights.reduce((a, b) => a + b, 0);
    let x = this.next() * total;
    for (let i = 0; i < items.length; i++) {
      x -= weights[i]!;
      if (x < 0) return items[i]!;
    }
    return items[items.length - 1]!;
  }
  hex(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += Math.floor(this.next() * 16).toString(16);
    return s;
  }
}

const STAGES = ['payment', 'inventory', 'fulfilment', 'shipping', 'address'] as const;
const STAGE_WEIGHTS = [38, 24, 14, 12, 12];
const REASONS: Record<(typeof STAGES)[number], string[]> = {
  payment: ['CARD_DECLINED', 'INSUFFICIENT_FUNDS', '3DS_TIMEOUT', 'FRAUD_SUSPECTED'],
  inventory: ['OUT_OF_STOCK', 'RESERVATION_EXPIRED', 'SKU_DISCONTINUED'],
  fulfilment: ['WAREHOUSE_CAPACITY', 'PICKING_ERROR', 'SPLIT_SHIPMENT_FAILED'],
  shipping: ['CARRIER_REJECTED', 'RESTRICTED_DESTINATION', 'LABEL_ERROR'],
  address: ['ADDRESS_INVALID', 'POSTCODE_MISMATCH', 'PO_BOX_NOT_ALLOWED'],
};
const CHANNELS = ['web', 'app', 'marketplace', 'phone'] as const;
const CHANNEL_WEIGHTS = [46, 34, 15, 5];
const REGIONS = [
  { region: 'DE', currency: 'EUR', utcOffsetHours: 1 },
  { region: 'FR', currency: 'EUR', utcOffsetHours: 1 },
  { region: 'NL', currency: 'EUR', utcOffsetHours: 1 },
  { region: 'UK', currency: 'GBP', utcOffsetHours: 0 },
  { region: 'PL', currency: 'PLN', utcOffsetHours: 1 },
  { region: 'SE', currency: 'SEK', utcOffsetHours: 1 },
] as const;
const PAYMENT = ['card', 'paypal', 'invoice', 'klarna', 'apple_pay'] as const;
const SHIPPING = ['standard', 'express', 'pickup_point', 'same_day'] as const;
const CATEGORIES = ['electronics', 'home', 'fashion', 'beauty', 'toys', 'grocery'] as const;
const CUSTOMERS = 40_000;
const MODEL = 'fallout-gbm';

const dayNames = new Map<number, string>();
function isoDay(ms: number): string {
  const day = Math.floor(ms / DAY);
  let name = dayNames.get(day);
  if (name === undefined) {
    name = new Date(day * DAY).toISOString().slice(0, 10);
    dayNames.set(day, name);
  }
  return name;
}

function money(x: number): string {
  return x.toFixed(2);
}

/** An order as the generators share it: the same order appears in raw, features and predictions. */
interface Order {
  orderId: string;
  customerId: string;
  time: number;
  channel: string;
  region: (typeof REGIONS)[number];
  items: { sku: string; quantity: number; unit_price: string; category: string }[];
  amount: number;
  fellOut: boolean;
  stage: (typeof STAGES)[number];
}

function makeOrder(rnd: Random, run: number, append: number, i: number, time: number): Order {
  const n = rnd.weighted([1, 2, 3, 4, 5, 6], [40, 25, 15, 10, 6, 4]);
  const items = Array.from({ length: n }, () => {
    const category = rnd.pick(CATEGORIES);
    const price = Math.round((3 + rnd.next() * rnd.next() * 400) * 100) / 100;
    return {
      sku: `${category.slice(0, 3).toUpperCase()}-${rnd.int(10000, 99999)}`,
      quantity: rnd.weighted([1, 2, 3], [80, 15, 5]),
      unit_price: money(price),
      category,
    };
  });
  const amount = items.reduce((s, it) => s + Number(it.unit_price) * it.quantity, 0);
  // Skewed customers: a few order often (and fall out more often).
  const customer = Math.floor(CUSTOMERS * rnd.next() ** 2);
  return {
    orderId: `ORD-${(run + 1).toString().padStart(2, '0')}${append.toString().padStart(3, '0')}${i.toString().padStart(5, '0')}`,
    customerId: `C-${customer.toString().padStart(6, '0')}`,
    time,
    channel: rnd.weighted(CHANNELS, CHANNEL_WEIGHTS),
    region: rnd.pick(REGIONS),
    items,
    amount,
    fellOut: rnd.next() < 0.08 + (customer < 2000 ? 0.1 : 0) + (amount > 600 ? 0.06 : 0),
    stage: rnd.weighted(STAGES, STAGE_WEIGHTS),
  };
}

/** The orders of one append: a slice of the run's days, in time order. */
function ordersOf(run: number, append: number, appends: number, rows: number): Order[] {
  const rnd = new Random((run + 1) * 1_000_003 + append * 7919);
  const start = TIMELINE_START + run * DAYS_PER_RUN * DAY;
  const span = (DAYS_PER_RUN * DAY) / appends;
  const from = start + append * span;
  return Array.from({ length: rows }, (_, i) =>
    makeOrder(rnd, run, append, i, from + rnd.next() * span),
  ).sort((a, b) => a.time - b.time);
}

function rawRows(orders: Order[], rnd: Random): Record<string, unknown>[] {
  return orders.map((o) => {
    const reason = rnd.pick(REASONS[o.stage]);
    const event = new Date(o.time);
    return {
      fallout_id: `FO-${rnd.hex(12)}`,
      order_id: o.orderId,
      customer_id: o.customerId,
      event_time: event,
      order_local_time: new Date(o.time + o.region.utcOffsetHours * 3_600_000),
      fallout_stage: o.stage,
      fallout_reason: reason,
      channel: o.channel,
      region: o.region.region,
      order_amount: money(o.amount),
      currency: o.region.currency,
      items: o.items.map(({ sku, quantity, unit_price }) => ({ sku, quantity, unit_price })),
      attributes: {
        payment_provider: rnd.pick(['adyen', 'stripe', 'paypal']),
        retry_count: String(rnd.weighted([0, 1, 2, 3], [70, 20, 7, 3])),
        ...(o.stage === 'inventory' ? { warehouse: rnd.pick(['FRA1', 'WAW2', 'AMS1']) } : {}),
      },
      source_system: 'oms',
      ingested_at: new Date(o.time + rnd.int(2, 300) * 1000),
      event_date: isoDay(o.time),
    };
  });
}

function featureRows(orders: Order[], rnd: Random): Record<string, unknown>[] {
  return orders.map((o) => {
    const share: Record<string, number> = {};
    for (const it of o.items)
      share[it.category] = (share[it.category] ?? 0) + Number(it.unit_price) * it.quantity;
    for (const k of Object.keys(share)) share[k] = Math.round((share[k]! / o.amount) * 1000) / 1000;
    return {
      order_id: o.orderId,
      customer_id: o.customerId,
      day: isoDay(o.time),
      order_amount: money(o.amount),
      item_count: o.items.reduce((s, it) => s + it.quantity, 0),
      distinct_skus: o.items.length,
      payment_method: rnd.pick(PAYMENT),
      shipping_method: rnd.weighted(SHIPPING, [60, 25, 12, 3]),
      channel: o.channel,
      region: o.region.region,
      customer_orders_30d: rnd.weighted([0, 1, 2, 3, 5, 8], [30, 25, 18, 12, 10, 5]),
      customer_fallouts_30d: o.fellOut ? rnd.int(0, 3) : rnd.weighted([0, 1], [90, 10]),
      hours_since_last_order: rnd.next() < 0.3 ? null : Math.round(rnd.next() * 720 * 10) / 10,
      basket_category_share: share,
      is_fallout: o.fellOut,
      feature_time: new Date(o.time + 3_600_000),
    };
  });
}

function predictionRows(orders: Order[], rnd: Random, modelVersion: string): Record<string, unknown>[] {
  const threshold = 0.42;
  return orders.map((o) => {
    const base = o.fellOut ? 0.35 + rnd.next() * 0.6 : rnd.next() * 0.5;
    const p = Math.round(base * 10_000) / 10_000;
    return {
      prediction_id: `PR-${rnd.hex(12)}`,
      order_id: o.orderId,
      customer_id: o.customerId,
      day: isoDay(o.time),
      model_name: MODEL,
      model_version: modelVersion,
      fallout_probability: p,
      predicted_fallout: p >= threshold,
      decision_threshold: threshold,
      top_factors: {
        customer_fallouts_30d: Math.round(rnd.next() * 0.3 * 1000) / 1000,
        order_amount: Math.round(rnd.next() * 0.2 * 1000) / 1000,
        payment_method: Math.round(rnd.next() * 0.15 * 1000) / 1000,
      },
      scored_at: new Date(o.time + 2 * 3_600_000),
    };
  });
}

/** Tables the generator knows, by LakeTable name: where each lives and its declared Delta schema. */
export interface SampleTarget {
  readonly name: string;
  readonly store: ObjectStore;
}

/** Appends done so far under SAMPLE_APP_ID (0 for a new table). */
async function appendsSoFar(store: ObjectStore): Promise<number> {
  try {
    return (await Snapshot.load(store)).appTransactionVersion(SAMPLE_APP_ID) ?? 0;
  } catch (err) {
    if (isLakehouseError(err, 'NOT_A_TABLE')) return 0;
    throw err;
  }
}

/**
 * Append one run of sample data to each target table that exists (tables the generator does not
 * know are skipped). `modelsRoot` is where model artifacts are written (the models zone root);
 * `onTable` is called after each table. Returns what each table received.
 */
export async function writeSampleData(
  targets: readonly SampleTarget[],
  options: { modelsRoot?: string; onTable?: (w: SampleWrite) => void } = {},
): Promise<SampleWrite[]> {
  const byName = new Map(targets.map((t) => [t.name, t.store]));
  const out: SampleWrite[] = [];
  // The run number comes from the raw table (the pipeline's source); every table follows it.
  const rawStore = byName.get('raw-order-fallouts');
  const vol = SAMPLE_VOLUME['raw-order-fallouts']!;
  const run = rawStore ? Math.floor((await appendsSoFar(rawStore)) / vol.appends) : 0;
  const modelVersion = `v${run + 1}`;
  const days: [string, string] = [
    isoDay(TIMELINE_START + run * DAYS_PER_RUN * DAY),
    isoDay(TIMELINE_START + (run * DAYS_PER_RUN + DAYS_PER_RUN - 1) * DAY),
  ];

  for (const [name, store] of byName) {
    const volume = SAMPLE_VOLUME[name];
    if (!volume) continue;
    const snapshot = await Snapshot.load(store);
    const schema = deltaSchemaToArrow(snapshot.schema);
    const done = snapshot.appTransactionVersion(SAMPLE_APP_ID) ?? 0;
    let rows = 0;
    let files = 0;
    let bytes = 0;
    let version = snapshot.version;
    let appends = 0;
    for (let a = 0; a < volume.appends; a++) {
      const appVersion = run * volume.appends + a + 1;
      if (appVersion <= done) continue; // committed by an interrupted earlier run
      const rnd = new Random(appVersion * 31 + name.length);
      let data: Record<string, unknown>[];
      if (name === 'model-registry') {
        data = await registryRows(run, a, byName, options.modelsRoot);
      } else {
        // Same seed, same orders: raw fallouts and their features describe the same orders.
        const orders = ordersOf(run, a, volume.appends, volume.rows);
        data =
          name === 'raw-order-fallouts'
            ? rawRows(orders, rnd)
            : name === 'order-features'
              ? featureRows(orders, rnd)
              : name === 'fallout-predictions'
                ? predictionRows(orders, rnd, modelVersion)
                : sessionRows(orders, rnd, run, a);
      }
      const m = await writeTable(store, batchFromRows(schema, data), {
        mode: 'append',
        appId: SAMPLE_APP_ID,
        appVersion,
        commitInfo: { userName: 'lakehouse start (sample data)' },
      });
      rows += m.numOutputRows;
      files += m.numFiles;
      bytes += m.numOutputBytes;
      version = m.version;
      appends++;
    }
    const w: SampleWrite = { table: name, rows, appends, files, bytes, version, days };
    out.push(w);
    options.onTable?.(w);
  }
  return out;
}

function sessionRows(orders: Order[], rnd: Random, run: number, append: number): Record<string, unknown>[] {
  const session = `S-${run + 1}-${append.toString().padStart(3, '0')}-${rnd.hex(6)}`;
  return orders.map((o) => ({
    session_id: session,
    order_id: o.orderId,
    features: {
      order_amount: money(o.amount),
      item_count: o.items.reduce((s, it) => s + it.quantity, 0),
      customer_orders_30d: rnd.int(0, 8),
      hours_since_last_order: Math.round(rnd.next() * 720 * 10) / 10,
    },
    cached_at: new Date(o.time + 5 * 60_000),
  }));
}

/**
 * Model registry rows: each append registers a candidate of the run's model (trained on the
 * features table as it is now) and writes its artifact, a small JSON model card, under
 * `<models root>/artifacts/`.
 */
async function registryRows(
  run: number,
  append: number,
  tables: ReadonlyMap<string, ObjectStore>,
  modelsRoot: string | undefined,
): Promise<Record<string, unknown>[]> {
  const rnd = new Random(9_001 + run * 17 + append);
  const features = tables.get('order-features');
  let trainingVersion: number | null = null;
  let trainingRows: number | null = null;
  if (features) {
    const snap = await Snapshot.load(features);
    trainingVersion = snap.version;
    trainingRows = 0;
    for (const add of snap.activeFilesIterator()) {
      const m = /"numRecords"\s*:\s*(\d+)/.exec(add.stats ?? '');
      trainingRows += m ? Number(m[1]) : 0;
    }
  }
  const rows: Record<string, unknown>[] = [];
  const n = SAMPLE_VOLUME['model-registry']!.rows;
  for (let k = 0; k < n; k++) {
    const version = `v${run + 1}.${append * n + k}`;
    const auc = Math.round((0.78 + run * 0.01 + rnd.next() * 0.05) * 10_000) / 10_000;
    const metrics = {
      auc,
      precision: Math.round((0.55 + rnd.next() * 0.15) * 10_000) / 10_000,
      recall: Math.round((0.6 + rnd.next() * 0.15) * 10_000) / 10_000,
      log_loss: Math.round((0.25 + rnd.next() * 0.1) * 10_000) / 10_000,
    };
    const params = {
      max_depth: String(rnd.pick([4, 6, 8])),
      learning_rate: String(rnd.pick([0.05, 0.1])),
      n_estimators: String(rnd.pick([200, 400, 800])),
    };
    let artifactUri = `models/artifacts/order-fallout/${MODEL}/${version}/model.json`;
    if (modelsRoot) {
      const dir = path.join(modelsRoot, 'artifacts', 'order-fallout', MODEL, version);
      await fs.mkdir(dir, { recursive: true });
      const file = path.join(dir, 'model.json');
      await fs.writeFile(
        file,
        `${JSON.stringify({ model: MODEL, version, framework: 'lightgbm', metrics, params, trainingTable: 'order-features', trainingTableVersion: trainingVersion }, null, 2)}\n`,
      );
      artifactUri = `file://${file}`;
    }
    rows.push({
      model_name: MODEL,
      model_version: version,
      artifact_uri: artifactUri,
      framework: 'lightgbm',
      stage: k === 0 && append === 0 ? 'production' : 'staging',
      metrics,
      params,
      training_table: 'order-features',
      training_table_version: trainingVersion,
      training_rows: trainingRows,
      trained_at: new Date(TIMELINE_START + (run + 1) * DAYS_PER_RUN * DAY - 3_600_000 + k * 60_000),
      registered_by: 'lakehouse start',
    });
  }
  return rows;
}
