/**
 * Delta schema JSON ⇄ Arrow schema, for every Delta type.
 *
 * Contract:
 * - `arrowSchemaToDelta(deltaSchemaToArrow(s))` round-trips every Delta schema: names, types,
 *   nullability and field metadata (Arrow metadata holds strings only: other values travel as JSON
 *   text, and the keys Delta defines as numbers, such as `delta.columnMapping.id`, come back as
 *   numbers).
 * - Delta → Arrow is the physical layout this kit writes and returns from scans: `timestamp` is
 *   microseconds with time zone `UTC`, `timestamp_ntz` microseconds without a zone, `date` is
 *   days, decimals are 128-bit, arrays are `List<element>`, maps are `Map<key_value{key,value}>`.
 * - Arrow → Delta accepts the wider set of Arrow types a caller may hand us (any timestamp unit,
 *   large strings and lists, dictionaries) and rejects the ones Delta cannot store (unsigned
 *   integers beyond what fits, unions, durations, ...) with `SCHEMA_MISMATCH` naming the column.
 */
import {
  Binary,
  Bool,
  DataType,
  DateDay,
  Decimal,
  Field,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  List,
  Map_,
  Schema,
  Struct,
  TimestampMicrosecond,
  Type,
  Utf8,
} from 'apache-arrow';
import { LakehouseError } from '../errors.js';

import type { ArrayType, DeltaType, MapType, StructField, StructType } from './schema.js';

/** Aliases of the log's schema types, under the names the data layer uses. */
export type DeltaDataType = DeltaType;
export type DeltaStructField = StructField;
export type DeltaStructType = StructType;
export type DeltaArrayType = ArrayType;
export type DeltaMapType = MapType;

const PRIMITIVES = new Set([
  'byte',
  'short',
  'integer',
  'long',
  'float',
  'double',
  'string',
  'binary',
  'boolean',
  'date',
  'timestamp',
  'timestamp_ntz',
]);

/** `decimal(p,s)` → [p, s]; undefined for anything else. */
export function parseDecimal(type: string): [number, number] | undefined {
  const m = /^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/.exec(type);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export function isStructType(t: DeltaDataType): t is DeltaStructType {
  return typeof t === 'object' && t.type === 'struct';
}
export function isArrayType(t: DeltaDataType): t is DeltaArrayType {
  return typeof t === 'object' && t.type === 'array';
}
export function isMapType(t: DeltaDataType): t is DeltaMapType {
  return typeof t === 'object' && t.type === 'map';
}

/** True for the primitive type names the protocol defines (decimal included). */
export function isPrimitiveDeltaType(t: DeltaDataType): t is string {
  return typeof t === 'string' && (PRIMITIVES.has(t) || parseDecimal(t) !== undefined);
}

/** The Arrow type a Delta type is stored and returned as. */
export function deltaTypeToArrow(t: DeltaDataType, column = '<column>'): DataType {
  if (typeof t === 'string') {
    switch (t) {
      case 'byte':
        return new Int8();
      case 'short':
        return new Int16();
      case 'integer':
        return new Int32();
      case 'long':
        return new Int64();
      case 'float':
        return new Float32();
      case 'double':
        return new Float64();
      case 'string':
        return new Utf8();
      case 'binary':
        return new Binary();
      case 'boolean':
        return new Bool();
      case 'date':
        return new DateDay();
      case 'timestamp':
        return new TimestampMicrosecond('UTC');
      case 'timestamp_ntz':
        return new TimestampMicrosecond(null);
    }
    const dec = parseDecimal(t);
    if (dec) return new Decimal(dec[1], dec[0], 128);
    throw new LakehouseError(
      'SCHEMA_MISMATCH',
      `schema: column ${column} has type "${t}", which Delta does not define`,
    );
  }
  if (isStructType(t)) return new Struct(t.fields.map((f) => deltaFieldToArrow(f, `${column}.${f.name}`)));
  if (isArrayType(t)) {
    return new List(
      new Field('element', deltaTypeToArrow(t.elementType, `${column}.element`), t.containsNull),
    );
  }
  if (isMapType(t)) {
    const entries = new Struct([
      new Field('key', deltaTypeToArrow(t.keyType, `${column}.key`), false),
      new Field('value', deltaTypeToArrow(t.valueType, `${column}.value`), t.valueContainsNull),
    ]);
    return new Map_(new Field('key_value', entries, false), false);
  }
  throw new LakehouseError(
    'SCHEMA_MISMATCH',
    `schema: column ${column} has an unknown type ${JSON.stringify(t)}`,
  );
}

export function deltaFieldToArrow(f: DeltaStructField, path = f.name): Field {
  const metadata = new Map<string, string>();
  for (const [k, v] of Object.entries(f.metadata ?? {}))
    metadata.set(k, typeof v === 'string' ? v : JSON.stringify(v));
  return new Field(f.name, deltaTypeToArrow(f.type, path), f.nullable, metadata);
}

/** The Arrow schema of a Delta table schema (top-level struct). */
export function deltaSchemaToArrow(schema: DeltaStructType): Schema {
  return new Schema(schema.fields.map((f) => deltaFieldToArrow(f)));
}

/** Metadata keys whose values Delta defines as numbers or booleans, restored from Arrow's strings. */
const TYPED_METADATA =
  /^(delta\.columnMapping\.id|delta\.identity\.(start|step|highWaterMark)|parquet\.field\.id)$/;

/** The Delta type of an Arrow type; `column` names the column in the error. */
export function arrowTypeToDelta(t: DataType, column: string): DeltaDataType {
  switch (t.typeId) {
    case Type.Int: {
      const { bitWidth, isSigned } = t as unknown as { bitWidth: number; isSigned: boolean };
      if (isSigned || bitWidth < 32) {
        const width = isSigned ? bitWidth : bitWidth * 2;
        return ({ 8: 'byte', 16: 'short', 32: 'integer', 64: 'long' } as Record<number, string>)[width]!;
      }
      if (bitWidth === 32) return 'long';
      break;
    }
    case Type.Float: {
      const { precision } = t as unknown as { precision: number };
      return precision === 2 ? 'double' : 'float';
    }
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Utf8View:
      return 'string';
    case Type.Binary:
    case Type.LargeBinary:
    case Type.BinaryView:
    case Type.FixedSizeBinary:
      return 'binary';
    case Type.Bool:
      return 'boolean';
    case Type.Date:
      return 'date';
    case Type.Timestamp: {
      const { timezone } = t as unknown as { timezone: string | null };
      return timezone ? 'timestamp' : 'timestamp_ntz';
    }
    case Type.Decimal: {
      const d = t as Decimal;
      if (d.precision <= 38) return `decimal(${d.precision},${d.scale})`;
      break;
    }
    case Type.Struct:
      return { type: 'struct', fields: t.children.map((c) => arrowFieldToDelta(c, `${column}.${c.name}`)) };
    case Type.List:
    case Type.LargeList:
    case Type.FixedSizeList: {
      const el = t.children[0]!;
      return {
        type: 'array',
        elementType: arrowTypeToDelta(el.type, `${column}.element`),
        containsNull: el.nullable,
      };
    }
    case Type.Map: {
      const entries = t.children[0]!.type.children as Field[];
      return {
        type: 'map',
        keyType: arrowTypeToDelta(entries[0]!.type, `${column}.key`),
        valueType: arrowTypeToDelta(entries[1]!.type, `${column}.value`),
        valueContainsNull: entries[1]!.nullable,
      };
    }
    case Type.Dictionary:
      return arrowTypeToDelta((t as unknown as { dictionary: DataType }).dictionary, column);
  }
  throw new LakehouseError(
    'SCHEMA_MISMATCH',
    `schema: column ${column} has Arrow type ${String(t)}, which a Delta table cannot store; cast it first`,
  );
}

export function arrowFieldToDelta(f: Field, path = f.name): DeltaStructField {
  const metadata: Record<string, unknown> = {};
  for (const [k, v] of f.metadata) {
    if (TYPED_METADATA.test(k)) {
      try {
        metadata[k] = JSON.parse(v);
        continue;
      } catch {
        // not JSON: keep the string
      }
    }
    metadata[k] = v;
  }
  return { name: f.name, type: arrowTypeToDelta(f.type, path), nullable: f.nullable, metadata };
}

/** The Delta schema (top-level struct) of an Arrow schema. */
export function arrowSchemaToDelta(schema: Schema): DeltaStructType {
  return { type: 'struct', fields: schema.fields.map((f) => arrowFieldToDelta(f)) };
}
