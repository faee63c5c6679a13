import { readFile } from 'node:fs/promises';
import { LakehouseError } from '../errors.js';

/**
 * Request and storage prices per cloud, for the cost estimates of `plan`. The defaults are
 * public list prices of the standard/hot tier in a US region (USD, checked 2026-11); your region,
 * tier, discounts and currency differ: override any of them with a JSON file
 * (`--prices prices.json`), e.g. `{"aws": {"writePer1000": 0.0054}}`.
 */
export interface CloudPrices {
  currency: string;
  /** PUT, POST, COPY, multipart parts (S3 Tier 1; Azure write operations; GCS Class A). */
  writePer1000: number;
  /** GET and ranged GET (S3 Tier 2; Azure read operations; GCS Class B). */
  readPer1000: number;
  /** LIST calls (S3 Tier 1; Azure list operations; GCS Class A). */
  listPer1000: number;
  /** Delete requests (free on S3, Azure and GCS). */
  deletePer1000: number;
  /** Storage per GiB-month, for the monthly saving of a vacuum. */
  storagePerGiBMonth: number;
  /** Objects per LIST page (S3 and GCS 1000, Azure 5000). */
  listPageSize: number;
  /** Paths per delete request (S3 DeleteObjects 1000, Azure batch 256, GCS one per request). */
  deleteBatchSize: number;
}

export type Cloud = 'aws' | 'azure' | 'gcp' | 'local';

export const DEFAULT_PRICES: Readonly<Record<Cloud, Readonly<CloudPrices>>> = {
  aws: {
    currency: 'USD',
    writePer1000: 0.005,
    readPer1000: 0.0004,
    listPer1000: 0.005,
    deletePer1000: 0,
    storagePerGiBMonth: 0.023,
    listPageSize: 1000,
    deleteBatchSize: 1000,
  },
  azure: {
    currency: 'USD',
    writePer1000: 0.0065,
    readPer1000: 0.0005,
    listPer1000: 0.0065,
    deletePer1000: 0,
    storagePerGiBMonth: 0.0208,
    listPageSize: 5000,
    deleteBatchSize: 256,
  },
  gcp: {
    currency: 'USD',
    writePer1000: 0.005,
    readPer1000: 0.0004,
    listPer1000: 0.005,
    deletePer1000: 0,
    storagePerGiBMonth: 0.02,
    listPageSize: 1000,
    deleteBatchSize: 1,
  },
  local: {
    currency: 'USD',
    writePer1000: 0,
    readPer1000: 0,
    listPer1000: 0,
    deletePer1000: 0,
    storagePerGiBMonth: 0,
    listPageSize: 1000,
    deleteBatchSize: 1000,
  },
};

export type PriceTable = Record<Cloud, CloudPrices>;
export type PriceOverrides = Partial<Record<Cloud, Partial<CloudPrices>>>;

/** The cloud a table URI lives on (S3-compatible servers such as MinIO count as `aws`). */
export function cloudOf(uri: string): Cloud {
  const scheme = /^([a-z0-9+.-]+):\/\//i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === 's3' || scheme === 's3a') return 'aws';
  if (scheme === 'az' || scheme === 'abfs' || scheme === 'abfss' || scheme === 'azure') return 'azure';
  if (scheme === 'gs') return 'gcp';
  return 'local';
}

/** The default table with `overrides` merged in, checked: every price a non-negative number. */
export function resolvePrices(overrides: PriceOverrides = {}): PriceTable {
  const out = {} as PriceTable;
  for (const cloud of Object.keys(DEFAULT_PRICES) as Cloud[]) {
    out[cloud] = { ...DEFAULT_PRICES[cloud], ...(overrides[cloud] ?? {}) };
  }
  for (const key of Object.keys(overrides)) {
    if (!(key in DEFAULT_PRICES))
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `prices: unknown cloud "${key}"; use ${Object.keys(DEFAULT_PRICES).join(', ')}`,
      );
    for (const [field, value] of Object.entries(overrides[key as Cloud] ?? {})) {
      if (!(field in DEFAULT_PRICES.aws))
        throw new LakehouseError(
          'INVALID_ARGUMENT',
          `prices: ${key}.${field} is not a price; use ${Object.keys(DEFAULT_PRICES.aws).join(', ')}`,
        );
      if (field === 'currency' ? typeof value !== 'string' : typeof value !== 'number' || !(value >= 0))
        throw new LakehouseError(
          'INVALID_ARGUMENT',
          `prices: ${key}.${field} must be ${field === 'currency' ? 'a string' : 'a non-negative number'}, got ${JSON.stringify(value)}`,
        );
    }
  }
  return out;
}

/** Read a JSON price override file (see `CloudPrices`). */
export async function loadPriceOverrides(file: string): Promise<PriceOverrides> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new LakehouseError('INVALID_ARGUMENT', `--prices: cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as PriceOverrides;
  } catch (err) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `--prices: ${file} is not a JSON object of clouds to prices (${(err as Error).message}), e.g. {"aws": {"writePer1000": 0.005}}`,
    );
  }
}

/** Storage requests an operation makes. */
export interface RequestCounts {
  read: number;
  write: number;
  list: number;
  delete: number;
}

/** The cost of some requests at a cloud's prices. */
export function requestCost(r: RequestCounts, p: CloudPrices): number {
  return (
    (r.read * p.readPer1000 +
      r.write * p.writePer1000 +
      r.list * p.listPer1000 +
      r.delete * p.deletePer1000) /
    1000
  );
}

export function addRequests(...all: RequestCounts[]): RequestCounts {
  return all.reduce(
    (s, r) => ({
      read: s.read + r.read,
      write: s.write + r.write,
      list: s.list + r.list,
      delete: s.delete + r.delete,
    }),
    { read: 0, write: 0, list: 0, delete: 0 },
  );
}
