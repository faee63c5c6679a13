import { randomUUID } from 'node:crypto';
import type { MetadataAction, ProtocolAction } from '../delta/actions.js';
import { protocolFor } from '../delta/features.js';
import {
  assignColumnMapping,
  CM_MAX_ID,
  CM_MODE,
  columnMappingMode,
  type DeltaType,
  isArray,
  isMap,
  isStruct,
  parseSchema,
  serializeSchema,
  type StructField,
  type StructType,
  typeNames,
} from '../delta/schema.js';
import { Snapshot } from '../delta/snapshot.js';
import { Transaction } from '../delta/transaction.js';
import { LakehouseError, isLakehouseError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';

/**
 * CREATE TABLE: write version 0 of a new, empty table (protocol + metaData).
 *
 * - Fails with TABLE_ALREADY_EXISTS when the location already holds a table (checked first, and
 *   again atomically by the commit's put-if-absent, so two concurrent creates cannot both win).
 * - The schema is Delta schema JSON or a column list (`parseColumnList`). Partition columns must
 *   be top-level primitive columns of the schema.
 * - The protocol is the lowest that carries the features the schema and properties need
 *   (`timestamp_ntz` → timestampNtz, `delta.columnMapping.mode` → columnMapping,
 *   `delta.enableDeletionVectors=true` → deletionVectors, `delta.appendOnly=true` → appendOnly, …).
 *   Under column mapping every field gets an id and a physical name.
 */
export interface CreateTableOptions {
  /** Delta schema (parsed or JSON text) or a column list such as `id:long,name:string,day:date`. */
  schema: StructType | string;
  partitionBy?: readonly string[];
  /** Table properties (`metaData.configuration`). */
  properties?: Record<string, string>;
  name?: string;
  description?: string;
}

export interface CreateTableResult {
  version: number;
  tableId: string;
  schema: StructType;
  partitionColumns: string[];
  protocol: ProtocolAction;
}

const SIMPLE_TYPES: Record<string, string> = {
  tinyint: 'byte',
  byte: 'byte',
  smallint: 'short',
  short: 'short',
  int: 'integer',
  integer: 'integer',
  bigint: 'long',
  long: 'long',
  float: 'float',
  real: 'float',
  double: 'double',
  string: 'string',
  varchar: 'string',
  text: 'string',
  binary: 'binary',
  boolean: 'boolean',
  bool: 'boolean',
  date: 'date',
  timestamp: 'timestamp',
  timestamp_ntz: 'timestamp_ntz',
};

/**
 * Parse a column list: `name:type[ not null]` separated by commas, e.g.
 * `id:long not null,name:string,price:decimal(10,2),day:date`. Types are Delta's primitive names
 * (SQL spellings like `int`, `bigint` are accepted).
 */
export function parseColumnList(text: string): StructType {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) parts.push(cur);
  const fields: StructField[] = parts.map((raw) => {
    const m = /^\s*([^:]+?)\s*:\s*([a-zA-Z_]+(?:\s*\(\s*\d+\s*,\s*\d+\s*\))?)\s*(not\s+null)?\s*$/i.exec(raw);
    if (!m) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `schema: "${raw.trim()}" is not a column; write name:type, e.g. id:long,name:string,day:date`,
      );
    }
    const t = m[2]!.toLowerCase().replace(/\s+/g, '');
    const type = t.startsWith('decimal') ? t : SIMPLE_TYPES[t];
    if (!type) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `schema: column ${m[1]} has unknown type "${m[2]}"; use one of ${Object.values(SIMPLE_TYPES)
          .filter((v, i, a) => a.indexOf(v) === i)
          .join(', ')}, decimal(p,s)`,
      );
    }
    return { name: m[1]!, type, nullable: !m[3], metadata: {} };
  });
  if (fields.length === 0) throw new LakehouseError('INVALID_ARGUMENT', 'schema: no columns given');
  return { type: 'struct', fields };
}

/** A schema given as JSON text, a column list, or already parsed. */
export function resolveSchema(schema: StructType | string): StructType {
  if (typeof schema !== 'string') return parseSchema(JSON.stringify(schema), 'schema');
  const text = schema.trim();
  if (text.startsWith('{') || text.startsWith('[')) {
    const json = JSON.parse(text) as unknown;
    const struct = Array.isArray(json) ? { type: 'struct', fields: json } : json;
    return parseSchema(JSON.stringify(struct), 'schema');
  }
  return parseColumnList(text);
}

/** The table features a new table with this schema and these properties needs. */
export function featuresFor(schema: StructType, properties: Record<string, string>): string[] {
  const features: string[] = [];
  if (typeNames(schema).has('timestamp_ntz')) features.push('timestampNtz');
  if (columnMappingMode(properties) !== 'none') features.push('columnMapping');
  if (properties['delta.enableDeletionVectors'] === 'true') features.push('deletionVectors');
  if (properties['delta.appendOnly'] === 'true') features.push('appendOnly');
  if (properties['delta.enableInCommitTimestamps'] === 'true') features.push('inCommitTimestamp');
  if (properties['delta.enableChangeDataFeed'] === 'true') features.push('changeDataFeed');
  if (Object.keys(properties).some((k) => k.startsWith('delta.constraints.')))
    features.push('checkConstraints');
  // Under table features (writer 7) the legacy features the metadata uses must be listed too:
  // Spark counts NOT NULL columns and delta.invariants as "invariants".
  if (features.length > 0 && hasInvariants(schema)) features.push('invariants');
  return features;
}

function hasInvariants(t: DeltaType): boolean {
  if (isStruct(t)) {
    return t.fields.some(
      (f) => !f.nullable || 'delta.invariants' in (f.metadata ?? {}) || hasInvariants(f.type),
    );
  }
  if (isArray(t)) return hasInvariants(t.elementType);
  if (isMap(t)) return hasInvariants(t.keyType) || hasInvariants(t.valueType);
  return false;
}

/** Validate partition columns against a schema; returns them with the schema's spelling. */
export function checkPartitionColumns(schema: StructType, partitionBy: readonly string[]): string[] {
  const seen = new Set<string>();
  return partitionBy.map((c) => {
    const f = schema.fields.find((x) => x.name.toLowerCase() === c.toLowerCase());
    if (!f) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `partition column ${c} is not in the schema; columns are ${schema.fields.map((x) => x.name).join(', ')}`,
      );
    }
    if (typeof f.type !== 'string') {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `partition column ${c} must have a primitive type, not a struct, array or map`,
      );
    }
    if (seen.has(f.name.toLowerCase()))
      throw new LakehouseError('INVALID_ARGUMENT', `partition column ${c} is given twice`);
    seen.add(f.name.toLowerCase());
    return f.name;
  });
}

/** The protocol and metaData actions of a new table (shared by create and write-to-a-new-table). */
export function newTableActions(
  schemaIn: StructType,
  partitionBy: readonly string[],
  propertiesIn: Record<string, string> = {},
  extra: { name?: string; description?: string } = {},
): { protocol: ProtocolAction; metadata: MetadataAction } {
  const properties = { ...propertiesIn };
  let schema = schemaIn;
  const lower = new Set<string>();
  for (const f of schema.fields) {
    if (lower.has(f.name.toLowerCase())) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `schema: column ${f.name} appears twice (Delta column names ignore case)`,
      );
    }
    lower.add(f.name.toLowerCase());
  }
  const partitionColumns = checkPartitionColumns(schema, partitionBy);
  if (columnMappingMode(properties) !== 'none') {
    const mapped = assignColumnMapping(schema, Number(properties[CM_MAX_ID] ?? 0));
    schema = mapped.schema;
    properties[CM_MAX_ID] = String(mapped.maxColumnId);
    properties[CM_MODE] = properties[CM_MODE]!;
  }
  const protocol = protocolFor(featuresFor(schema, properties));
  const metadata: MetadataAction = {
    id: randomUUID(),
    ...(extra.name ? { name: extra.name } : {}),
    ...(extra.description ? { description: extra.description } : {}),
    format: { provider: 'parquet', options: {} },
    schemaString: serializeSchema(schema),
    partitionColumns,
    configuration: properties,
    createdTime: Date.now(),
  };
  return { protocol, metadata };
}

/** Fail with TABLE_ALREADY_EXISTS when `store` holds a table. */
export async function assertNoTable(store: ObjectStore): Promise<void> {
  try {
    const snap = await Snapshot.load(store);
    throw new LakehouseError(
      'TABLE_ALREADY_EXISTS',
      `create: ${store.root} already holds a Delta table (version ${snap.version}); write to it, or pick another location`,
    );
  } catch (err) {
    if (isLakehouseError(err, 'NOT_A_TABLE')) return;
    throw err;
  }
}

export async function createTable(
  store: ObjectStore,
  options: CreateTableOptions,
): Promise<CreateTableResult> {
  const schema = resolveSchema(options.schema);
  const { protocol, metadata } = newTableActions(
    schema,
    options.partitionBy ?? [],
    options.properties ?? {},
    options,
  );
  await assertNoTable(store);
  const tx = new Transaction(store, null, {
    operation: 'CREATE TABLE',
    operationParameters: {
      isManaged: 'false',
      description: options.description ?? null,
      partitionBy: JSON.stringify(metadata.partitionColumns),
      properties: JSON.stringify(metadata.configuration),
    },
  });
  tx.addActions([{ protocol }, { metaData: metadata }]);
  const result = await tx.commit();
  return {
    version: result.version,
    tableId: metadata.id,
    schema: parseSchema(metadata.schemaString),
    partitionColumns: metadata.partitionColumns,
    protocol,
  };
}
