import { randomUUID } from 'node:crypto';
import { LakehouseError } from '../errors.js';

/**
 * Delta schema JSON ("Schema Serialization Format" in PROTOCOL.md): parse, serialize, evolve, and
 * column mapping. Types are kept exactly as the log spells them, so a schema read and written
 * again is unchanged.
 */

/**
 * Primitive type names: `string`, `long`, `integer`, `short`, `byte`, `float`, `double`, `boolean`,
 * `binary`, `date`, `timestamp`, `timestamp_ntz`, `void`, `variant`, and `decimal(p,s)`.
 */
export type PrimitiveType = string;

export interface StructType {
  type: 'struct';
  fields: StructField[];
}

export interface ArrayType {
  type: 'array';
  elementType: DeltaType;
  containsNull: boolean;
}

export interface MapType {
  type: 'map';
  keyType: DeltaType;
  valueType: DeltaType;
  valueContainsNull: boolean;
}

export type DeltaType = PrimitiveType | StructType | ArrayType | MapType;

export interface StructField {
  name: string;
  type: DeltaType;
  nullable: boolean;
  /** Column metadata: `delta.columnMapping.*`, `delta.invariants`, `delta.generationExpression`, … */
  metadata: Record<string, unknown>;
}

const PRIMITIVES = new Set([
  'string',
  'long',
  'integer',
  'short',
  'byte',
  'float',
  'double',
  'boolean',
  'binary',
  'date',
  'timestamp',
  'timestamp_ntz',
  'void',
  'variant',
]);
const DECIMAL_RE = /^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/;

/** Precision and scale of a `decimal(p,s)` type name, or null. Plain `decimal` is decimal(10,0). */
export function decimalParams(type: DeltaType): { precision: number; scale: number } | null {
  if (typeof type !== 'string') return null;
  if (type === 'decimal') return { precision: 10, scale: 0 };
  const m = DECIMAL_RE.exec(type);
  return m ? { precision: Number(m[1]), scale: Number(m[2]) } : null;
}

export function isStruct(t: DeltaType): t is StructType {
  return typeof t === 'object' && t.type === 'struct';
}
export function isArray(t: DeltaType): t is ArrayType {
  return typeof t === 'object' && t.type === 'array';
}
export function isMap(t: DeltaType): t is MapType {
  return typeof t === 'object' && t.type === 'map';
}

/** Parse a `schemaString`; rejects with CORRUPT_LOG (naming `where`) when it is not a valid schema. */
export function parseSchema(schemaString: string, where = 'metaData.schemaString'): StructType {
  let json: unknown;
  try {
    json = JSON.parse(schemaString);
  } catch (err) {
    throw new LakehouseError('CORRUPT_LOG', `delta: ${where} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const t = checkType(json, where);
  if (!isStruct(t)) throw new LakehouseError('CORRUPT_LOG', `delta: ${where} must be a struct type`);
  return t;
}

/** Validate an already-parsed schema object (e.g. from a user's schema.json). */
export function checkType(json: unknown, where: string): DeltaType {
  if (typeof json === 'string') {
    if (PRIMITIVES.has(json) || decimalParams(json)) return json;
    throw new LakehouseError('CORRUPT_LOG', `delta: ${where}: unknown type "${json}"`);
  }
  if (typeof json !== 'object' || json === null) {
    throw new LakehouseError('CORRUPT_LOG', `delta: ${where}: a type must be a string or an object`);
  }
  const o = json as Record<string, unknown>;
  switch (o.type) {
    case 'struct': {
      if (!Array.isArray(o.fields))
        throw new LakehouseError('CORRUPT_LOG', `delta: ${where}: struct without fields`);
      const fields = o.fields.map((f: unknown, i: number) => {
        const fo = f as Record<string, unknown>;
        if (typeof fo?.name !== 'string') {
          throw new LakehouseError('CORRUPT_LOG', `delta: ${where}: field ${i} has no name`);
        }
        return {
          name: fo.name,
          type: checkType(fo.type, `${where}.${fo.name}`),
          nullable: fo.nullable !== false,
          metadata: (fo.metadata as Record<string, unknown>) ?? {},
        } satisfies StructField;
      });
      return { type: 'struct', fields };
    }
    case 'array':
      return {
        type: 'array',
        elementType: checkType(o.elementType, `${where}.element`),
        containsNull: o.containsNull !== false,
      };
    case 'map':
      return {
        type: 'map',
        keyType: checkType(o.keyType, `${where}.key`),
        valueType: checkType(o.valueType, `${where}.value`),
        valueContainsNull: o.valueContainsNull !== false,
      };
    case 'variant':
      return 'variant';
    default:
      throw new LakehouseError('CORRUPT_LOG', `delta: ${where}: unknown type ${JSON.stringify(o.type)}`);
  }
}

/** Serialize to a `schemaString` (compact JSON, field order as given). */
export function serializeSchema(schema: StructType): string {
  return JSON.stringify(schema);
}

/** A type as users read it: `long`, `struct<a: int>`, `array<string>`, `map<string, long>`. */
export function typeToString(t: DeltaType): string {
  if (typeof t === 'string') return t;
  if (isStruct(t)) return `struct<${t.fields.map((f) => `${f.name}: ${typeToString(f.type)}`).join(', ')}>`;
  if (isArray(t)) return `array<${typeToString(t.elementType)}>`;
  return `map<${typeToString(t.keyType)}, ${typeToString(t.valueType)}>`;
}

function sameType(a: DeltaType, b: DeltaType): boolean {
  if (typeof a === 'string' || typeof b === 'string') {
    if (typeof a !== 'string' || typeof b !== 'string') return false;
    const da = decimalParams(a);
    const db = decimalParams(b);
    if (da && db) return da.precision === db.precision && da.scale === db.scale;
    return a === b;
  }
  return a.type === b.type;
}

export interface MergeOptions {
  /** Add new nullable columns (top-level and nested) found in `incoming`. Default false. */
  mergeSchema?: boolean;
}

/**
 * The table schema to commit when writing data with schema `incoming` to a table with schema
 * `table`. Names match case-insensitively (Delta column names are unique regardless of case).
 *
 * - Columns of the table missing from `incoming` are fine when nullable (they read as null).
 * - With `mergeSchema`, new nullable columns are appended (nested struct fields too, also inside
 *   arrays and maps); the table's fields keep their order, metadata and nullability.
 * - Everything else is refused, listing every offending column and why: a type change, a new
 *   non-nullable column, a missing non-nullable column, a new column without `mergeSchema`.
 *   Without `mergeSchema` the error code is SCHEMA_MISMATCH; with it, SCHEMA_EVOLUTION_REFUSED.
 *
 * Nullability of `incoming` is not compared: a nullable column may be written to a NOT NULL one,
 * and the writer must then check the data has no nulls there.
 */
export function mergeSchemas(
  table: StructType,
  incoming: StructType,
  options: MergeOptions = {},
): StructType {
  const problems: string[] = [];
  const merged = mergeStruct(table, incoming, '', !!options.mergeSchema, problems);
  if (problems.length > 0) {
    const code = options.mergeSchema ? 'SCHEMA_EVOLUTION_REFUSED' : 'SCHEMA_MISMATCH';
    throw new LakehouseError(
      code,
      `delta: the data does not match the table schema:\n  - ${problems.join('\n  - ')}` +
        (options.mergeSchema ? '' : '\nTo add new columns, write with mergeSchema.'),
    );
  }
  return merged;
}

function mergeStruct(
  table: StructType,
  incoming: StructType,
  prefix: string,
  merge: boolean,
  problems: string[],
): StructType {
  const byName = new Map(incoming.fields.map((f) => [f.name.toLowerCase(), f]));
  const seen = new Set<string>();
  const fields: StructField[] = [];
  for (const tf of table.fields) {
    const key = tf.name.toLowerCase();
    const inf = byName.get(key);
    const path = `${prefix}${tf.name}`;
    if (!inf) {
      if (!tf.nullable) problems.push(`column ${path} is NOT NULL in the table but missing from the data`);
      fields.push(tf);
      continue;
    }
    seen.add(key);
    fields.push({ ...tf, type: mergeType(tf.type, inf.type, path, merge, problems) });
  }
  for (const inf of incoming.fields) {
    if (seen.has(inf.name.toLowerCase())) continue;
    const path = `${prefix}${inf.name}`;
    if (!merge) problems.push(`column ${path} (${typeToString(inf.type)}) is not in the table schema`);
    else if (!inf.nullable)
      problems.push(`new column ${path} must be nullable to be added to an existing table`);
    else fields.push({ ...inf, metadata: inf.metadata ?? {} });
  }
  return { type: 'struct', fields };
}

function mergeType(t: DeltaType, i: DeltaType, path: string, merge: boolean, problems: string[]): DeltaType {
  if (isStruct(t) && isStruct(i)) return mergeStruct(t, i, `${path}.`, merge, problems);
  if (isArray(t) && isArray(i)) {
    return { ...t, elementType: mergeType(t.elementType, i.elementType, `${path}.element`, merge, problems) };
  }
  if (isMap(t) && isMap(i)) {
    return {
      ...t,
      keyType: mergeType(t.keyType, i.keyType, `${path}.key`, merge, problems),
      valueType: mergeType(t.valueType, i.valueType, `${path}.value`, merge, problems),
    };
  }
  if (!sameType(t, i)) {
    problems.push(
      `column ${path} has type ${typeToString(t)} in the table but ${typeToString(i)} in the data (type changes are not allowed)`,
    );
  }
  return t;
}

// ---- column mapping ("Column Mapping" in PROTOCOL.md) ----

export type ColumnMappingMode = 'none' | 'name' | 'id';
export const CM_ID = 'delta.columnMapping.id';
export const CM_PHYSICAL_NAME = 'delta.columnMapping.physicalName';
export const CM_MODE = 'delta.columnMapping.mode';
export const CM_MAX_ID = 'delta.columnMapping.maxColumnId';

/** The table's `delta.columnMapping.mode` (`none` when unset). */
export function columnMappingMode(configuration: Record<string, string> | undefined): ColumnMappingMode {
  const mode = configuration?.[CM_MODE] ?? 'none';
  if (mode === 'none' || mode === 'name' || mode === 'id') return mode;
  throw new LakehouseError('CORRUPT_LOG', `delta: unknown ${CM_MODE} "${mode}" (expected none, name or id)`);
}

/** The name of a field in data files, partition values and statistics under `mode`. */
export function physicalName(field: StructField, mode: ColumnMappingMode): string {
  if (mode === 'none') return field.name;
  const p = field.metadata?.[CM_PHYSICAL_NAME];
  if (typeof p !== 'string') {
    throw new LakehouseError(
      'CORRUPT_LOG',
      `delta: column ${field.name} has no ${CM_PHYSICAL_NAME} but the table uses column mapping mode ${mode}`,
    );
  }
  return p;
}

/** The Parquet field id of a field (`delta.columnMapping.id`), if it has one. */
export function fieldId(field: StructField): number | undefined {
  const id = field.metadata?.[CM_ID];
  return typeof id === 'number' ? id : typeof id === 'string' ? Number(id) : undefined;
}

/** The schema with every (nested) field renamed to its physical name; metadata kept. */
export function physicalSchema(schema: StructType, mode: ColumnMappingMode): StructType {
  if (mode === 'none') return schema;
  const mapType = (t: DeltaType): DeltaType => {
    if (isStruct(t))
      return {
        type: 'struct',
        fields: t.fields.map((f) => ({ ...f, name: physicalName(f, mode), type: mapType(f.type) })),
      };
    if (isArray(t)) return { ...t, elementType: mapType(t.elementType) };
    if (isMap(t)) return { ...t, keyType: mapType(t.keyType), valueType: mapType(t.valueType) };
    return t;
  };
  return mapType(schema) as StructType;
}

/**
 * Give every (nested) field that lacks one a column-mapping id and physical name
 * (`col-<uuid>`), counting up from `maxColumnId`. Returns the schema and the new maximum id,
 * which must be committed as `delta.columnMapping.maxColumnId` with it.
 */
export function assignColumnMapping(
  schema: StructType,
  maxColumnId: number,
): { schema: StructType; maxColumnId: number } {
  let max = maxColumnId;
  const visit = (t: DeltaType): DeltaType => {
    if (isStruct(t)) {
      return {
        type: 'struct',
        fields: t.fields.map((f) => {
          const metadata = { ...f.metadata };
          if (metadata[CM_ID] === undefined) metadata[CM_ID] = ++max;
          if (metadata[CM_PHYSICAL_NAME] === undefined) metadata[CM_PHYSICAL_NAME] = `col-${randomUUID()}`;
          return { ...f, metadata, type: visit(f.type) };
        }),
      };
    }
    if (isArray(t)) return { ...t, elementType: visit(t.elementType) };
    if (isMap(t)) return { ...t, keyType: visit(t.keyType), valueType: visit(t.valueType) };
    return t;
  };
  const out = visit(schema) as StructType;
  return { schema: out, maxColumnId: max };
}

/** Find a top-level field by name (case-insensitive, as Delta column names are). */
export function findField(schema: StructType, name: string): StructField | undefined {
  const lower = name.toLowerCase();
  return (
    schema.fields.find((f) => f.name === name) ?? schema.fields.find((f) => f.name.toLowerCase() === lower)
  );
}

/** Every type name used anywhere in a schema (for feature checks such as timestampNtz). */
export function typeNames(schema: DeltaType, out = new Set<string>()): Set<string> {
  if (typeof schema === 'string') out.add(decimalParams(schema) ? 'decimal' : schema);
  else if (isStruct(schema)) for (const f of schema.fields) typeNames(f.type, out);
  else if (isArray(schema)) typeNames(schema.elementType, out);
  else {
    typeNames(schema.keyType, out);
    typeNames(schema.valueType, out);
  }
  return out;
}
