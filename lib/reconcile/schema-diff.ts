/**
 * Comparing a table's schema with the schema its LakeTable declares. Names match ignoring case,
 * as Delta column names do; column order and comments are not compared. Array `containsNull` and
 * map `valueContainsNull` are not compared either: a LakeTable cannot declare them (arrays and map
 * values always admit nulls in a spec), so a table written by another engine would never match.
 */
import {
  decimalParams,
  isArray,
  isMap,
  isStruct,
  typeToString,
  type DeltaType,
  type StructType,
} from '../delta/schema.js';

/** One difference between the table's schema and the declared one. */
export interface SchemaChange {
  /**
   * `addColumn`: a nullable column (or nested field) the spec declares and the table lacks: additive.
   * The others are destructive and never applied: `dropColumn` (in the table, not in the spec),
   * `typeChange`, `nullabilityChange`, `newRequiredColumn` (a new column declared NOT NULL, which
   * the existing rows cannot satisfy).
   */
  readonly kind: 'addColumn' | 'dropColumn' | 'typeChange' | 'nullabilityChange' | 'newRequiredColumn';
  /** Dotted path; `element`, `key` and `value` step into arrays and maps (`items.element.sku`). */
  readonly path: string;
  /** What differs, for people: `long in the table, string in the spec`. */
  readonly detail: string;
}

export interface SchemaDiff {
  readonly additions: readonly SchemaChange[];
  readonly destructive: readonly SchemaChange[];
}

/** The differences between `table` (observed) and `desired` (declared). Empty lists: the same schema. */
export function diffSchemas(table: StructType, desired: StructType): SchemaDiff {
  const additions: SchemaChange[] = [];
  const destructive: SchemaChange[] = [];
  diffStruct(table, desired, '', additions, destructive);
  return { additions, destructive };
}

function diffStruct(
  table: StructType,
  desired: StructType,
  prefix: string,
  additions: SchemaChange[],
  destructive: SchemaChange[],
): void {
  const wanted = new Map(desired.fields.map((f) => [f.name.toLowerCase(), f]));
  const present = new Set<string>();
  for (const tf of table.fields) {
    const key = tf.name.toLowerCase();
    present.add(key);
    const path = `${prefix}${tf.name}`;
    const df = wanted.get(key);
    if (!df) {
      destructive.push({
        kind: 'dropColumn',
        path,
        detail: `${typeToString(tf.type)} in the table, not in the spec`,
      });
      continue;
    }
    if (tf.nullable !== df.nullable) {
      destructive.push({
        kind: 'nullabilityChange',
        path,
        detail: tf.nullable
          ? 'nullable in the table, NOT NULL in the spec'
          : 'NOT NULL in the table, nullable in the spec',
      });
    }
    diffType(tf.type, df.type, path, additions, destructive);
  }
  for (const df of desired.fields) {
    if (present.has(df.name.toLowerCase())) continue;
    const path = `${prefix}${df.name}`;
    if (df.nullable) additions.push({ kind: 'addColumn', path, detail: typeToString(df.type) });
    else
      destructive.push({
        kind: 'newRequiredColumn',
        path,
        detail: `${typeToString(df.type)} NOT NULL: rows already in the table have no value for it`,
      });
  }
}

function diffType(
  t: DeltaType,
  d: DeltaType,
  path: string,
  additions: SchemaChange[],
  destructive: SchemaChange[],
): void {
  if (isStruct(t) && isStruct(d)) return diffStruct(t, d, `${path}.`, additions, destructive);
  if (isArray(t) && isArray(d))
    return diffType(t.elementType, d.elementType, `${path}.element`, additions, destructive);
  if (isMap(t) && isMap(d)) {
    diffType(t.keyType, d.keyType, `${path}.key`, additions, destructive);
    diffType(t.valueType, d.valueType, `${path}.value`, additions, destructive);
    return;
  }
  if (!samePrimitive(t, d)) {
    destructive.push({
      kind: 'typeChange',
      path,
      detail: `${typeToString(t)} in the table, ${typeToString(d)} in the spec`,
    });
  }
}

function samePrimitive(a: DeltaType, b: DeltaType): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  const da = decimalParams(a);
  const db = decimalParams(b);
  if (da || db) return !!da && !!db && da.precision === db.precision && da.scale === db.scale;
  return a === b;
}
