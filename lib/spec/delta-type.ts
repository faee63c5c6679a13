/**
 * Delta column types as written in a LakeTable (`long`, `decimal(10,2)`, `array<string>`,
 * `map<string,double>`, `struct<id:long,name:string>`), parsed into a tree, printed back in one
 * canonical form, and translated to the Delta log's JSON schema and to catalog type names
 * (Hive/Glue/Athena, BigQuery).
 *
 * Grammar (type names in lower case, as the Delta log writes them; whitespace allowed around
 * punctuation):
 *
 *     type      := primitive | decimal | array | map | struct
 *     primitive := string | long | integer | short | byte | float | double | boolean | binary
 *                | date | timestamp | timestamp_ntz
 *                | int | bigint | smallint | tinyint          (aliases of integer, long, short, byte)
 *     decimal   := decimal(P,S)     1 <= P <= 38, 0 <= S <= P
 *     array     := array<type>
 *     map       := map<type,type>
 *     struct    := struct<field(,field)*>
 *     field     := name:type [not null]       (nested fields are nullable unless `not null`)
 */
import { LakehouseError } from '../errors.js';

/** The primitive type names of the Delta protocol, in their canonical spelling. */
export const DELTA_PRIMITIVE_TYPES = [
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
] as const;
export type DeltaPrimitiveType = (typeof DELTA_PRIMITIVE_TYPES)[number];

/** Spark SQL spellings accepted as aliases of the Delta names. */
const PRIMITIVE_ALIASES: Readonly<Record<string, DeltaPrimitiveType>> = {
  int: 'integer',
  bigint: 'long',
  smallint: 'short',
  tinyint: 'byte',
};

/** The largest decimal precision Delta (and Spark) supports. */
export const MAX_DECIMAL_PRECISION = 38;

/** A parsed Delta type. Arrays and map values always admit nulls (as Spark writes them). */
export type DeltaType =
  | { readonly kind: 'primitive'; readonly name: DeltaPrimitiveType }
  | { readonly kind: 'decimal'; readonly precision: number; readonly scale: number }
  | { readonly kind: 'array'; readonly elementType: DeltaType }
  | { readonly kind: 'map'; readonly keyType: DeltaType; readonly valueType: DeltaType }
  | { readonly kind: 'struct'; readonly fields: readonly DeltaStructField[] };

export interface DeltaStructField {
  readonly name: string;
  readonly type: DeltaType;
  readonly nullable: boolean;
}

/** A Delta log schema field (`schemaString` in a `metaData` action), per PROTOCOL.md "Schema Serialization Format". */
export interface DeltaSchemaField {
  name: string;
  type: DeltaSchemaType;
  nullable: boolean;
  metadata: Record<string, unknown>;
}
export type DeltaSchemaType =
  | string
  | { type: 'struct'; fields: DeltaSchemaField[] }
  | { type: 'array'; elementType: DeltaSchemaType; containsNull: boolean }
  | { type: 'map'; keyType: DeltaSchemaType; valueType: DeltaSchemaType; valueContainsNull: boolean };

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parse a Delta type string. Throws LakehouseError INVALID_SPEC whose message says where the text
 * went wrong and what is accepted.
 */
export function parseDeltaType(text: string): DeltaType {
  const p = new TypeParser(text);
  const t = p.parseType();
  p.skipSpace();
  if (!p.atEnd()) p.fail(`unexpected "${p.rest()}"`);
  return t;
}

/** The error text for an invalid type string, or undefined when it parses. */
export function deltaTypeError(text: string): string | undefined {
  try {
    parseDeltaType(text);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The canonical spelling of a type: Delta names, lower case, no spaces (`struct<a:long,b:string>`). */
export function formatDeltaType(t: DeltaType): string {
  switch (t.kind) {
    case 'primitive':
      return t.name;
    case 'decimal':
      return `decimal(${t.precision},${t.scale})`;
    case 'array':
      return `array<${formatDeltaType(t.elementType)}>`;
    case 'map':
      return `map<${formatDeltaType(t.keyType)},${formatDeltaType(t.valueType)}>`;
    case 'struct':
      return `struct<${t.fields
        .map((f) => `${f.name}:${formatDeltaType(f.type)}${f.nullable ? '' : ' not null'}`)
        .join(',')}>`;
  }
}

/** True for types a Delta table can be partitioned by (primitives and decimals; not binary). */
export function isPartitionableType(t: DeltaType): boolean {
  return t.kind === 'decimal' || (t.kind === 'primitive' && t.name !== 'binary');
}

/** The type as the Delta log serializes it in `metaData.schemaString`. */
export function deltaTypeToJson(t: DeltaType): DeltaSchemaType {
  switch (t.kind) {
    case 'primitive':
      return t.name;
    case 'decimal':
      return `decimal(${t.precision},${t.scale})`;
    case 'array':
      return { type: 'array', elementType: deltaTypeToJson(t.elementType), containsNull: true };
    case 'map':
      return {
        type: 'map',
        keyType: deltaTypeToJson(t.keyType),
        valueType: deltaTypeToJson(t.valueType),
        valueContainsNull: true,
      };
    case 'struct':
      return {
        type: 'struct',
        fields: t.fields.map((f) => ({
          name: f.name,
          type: deltaTypeToJson(f.type),
          nullable: f.nullable,
          metadata: {},
        })),
      };
  }
}

const HIVE_PRIMITIVES: Readonly<Record<DeltaPrimitiveType, string>> = {
  string: 'string',
  long: 'bigint',
  integer: 'int',
  short: 'smallint',
  byte: 'tinyint',
  float: 'float',
  double: 'double',
  boolean: 'boolean',
  binary: 'binary',
  date: 'date',
  timestamp: 'timestamp',
  // Hive/Glue/Athena have one timestamp type, without time zone semantics.
  timestamp_ntz: 'timestamp',
};

/**
 * The Hive type string for a Delta type, as Glue, Athena and Hive Metastore expect it
 * (`bigint`, `decimal(10,2)`, `array<struct<a:int>>`, `map<string,double>`). Accepts a type
 * string or a parsed type.
 */
export function deltaTypeToHiveType(type: string | DeltaType): string {
  const t = typeof type === 'string' ? parseDeltaType(type) : type;
  switch (t.kind) {
    case 'primitive':
      return HIVE_PRIMITIVES[t.name];
    case 'decimal':
      return `decimal(${t.precision},${t.scale})`;
    case 'array':
      return `array<${deltaTypeToHiveType(t.elementType)}>`;
    case 'map':
      return `map<${deltaTypeToHiveType(t.keyType)},${deltaTypeToHiveType(t.valueType)}>`;
    case 'struct':
      return `struct<${t.fields.map((f) => `${f.name}:${deltaTypeToHiveType(f.type)}`).join(',')}>`;
  }
}

const BIGQUERY_PRIMITIVES: Readonly<Record<DeltaPrimitiveType, string>> = {
  string: 'STRING',
  long: 'INT64',
  integer: 'INT64',
  short: 'INT64',
  byte: 'INT64',
  float: 'FLOAT64',
  double: 'FLOAT64',
  boolean: 'BOOL',
  binary: 'BYTES',
  date: 'DATE',
  timestamp: 'TIMESTAMP',
  // BigQuery's DATETIME is the civil (zone-less) date and time, like timestamp_ntz.
  timestamp_ntz: 'DATETIME',
};

/**
 * The BigQuery (GoogleSQL) type for a Delta type, as BigLake reads Delta tables: integers become
 * INT64, decimals NUMERIC(P,S) when they fit (scale <= 9, integer digits <= 29) else
 * BIGNUMERIC(P,S), maps become ARRAY<STRUCT<key K, value V>>.
 */
export function deltaTypeToBigQueryType(type: string | DeltaType): string {
  const t = typeof type === 'string' ? parseDeltaType(type) : type;
  switch (t.kind) {
    case 'primitive':
      return BIGQUERY_PRIMITIVES[t.name];
    case 'decimal':
      return t.scale <= 9 && t.precision - t.scale <= 29
        ? `NUMERIC(${t.precision}, ${t.scale})`
        : `BIGNUMERIC(${t.precision}, ${t.scale})`;
    case 'array':
      return `ARRAY<${deltaTypeToBigQueryType(t.elementType)}>`;
    case 'map':
      return `ARRAY<STRUCT<key ${deltaTypeToBigQueryType(t.keyType)}, value ${deltaTypeToBigQueryType(t.valueType)}>>`;
    case 'struct':
      return `STRUCT<${t.fields.map((f) => `${f.name} ${deltaTypeToBigQueryType(f.type)}`).join(', ')}>`;
  }
}

const TYPE_HELP =
  'use a Delta type: string, long, integer, short, byte, float, double, boolean, binary, date, timestamp, ' +
  'timestamp_ntz, decimal(P,S), array<T>, map<K,V> or struct<name:T,...>';

function isTypeName(word: string): boolean {
  return (
    ['decimal', 'array', 'map', 'struct'].includes(word) ||
    word in PRIMITIVE_ALIASES ||
    (DELTA_PRIMITIVE_TYPES as readonly string[]).includes(word)
  );
}

/** A small recursive-descent parser over the type grammar above. */
class TypeParser {
  private pos = 0;
  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }
  rest(): string {
    return this.text.slice(this.pos);
  }
  skipSpace(): void {
    while (!this.atEnd() && /\s/.test(this.text[this.pos]!)) this.pos++;
  }
  fail(what: string): never {
    throw new LakehouseError(
      'INVALID_SPEC',
      `type "${this.text}" at character ${this.pos + 1}: ${what}; ${TYPE_HELP}`,
    );
  }
  private expect(ch: string): void {
    this.skipSpace();
    if (this.text[this.pos] !== ch) this.fail(`expected "${ch}"`);
    this.pos++;
  }
  private word(): string {
    this.skipSpace();
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.rest());
    if (!m) this.fail(this.atEnd() ? 'a type is missing' : `unexpected "${this.rest()}"`);
    this.pos += m[0].length;
    return m[0];
  }
  private integer(): number {
    this.skipSpace();
    const m = /^\d+/.exec(this.rest());
    if (!m) this.fail('expected a number');
    this.pos += m[0].length;
    return Number(m[0]);
  }
  private peek(): string | undefined {
    this.skipSpace();
    return this.text[this.pos];
  }

  parseType(): DeltaType {
    const start = this.pos;
    const word = this.word();
    if (word !== word.toLowerCase() && isTypeName(word.toLowerCase())) {
      this.pos = start;
      this.skipSpace();
      this.fail(`write type names in lower case: "${word.toLowerCase()}"`);
    }
    switch (word) {
      case 'decimal': {
        this.expect('(');
        const precision = this.integer();
        this.expect(',');
        const scale = this.integer();
        this.expect(')');
        if (precision < 1 || precision > MAX_DECIMAL_PRECISION) {
          this.pos = start;
          this.fail(`decimal precision ${precision} is outside 1..${MAX_DECIMAL_PRECISION}`);
        }
        if (scale > precision) {
          this.pos = start;
          this.fail(`decimal scale ${scale} is larger than its precision ${precision}`);
        }
        return { kind: 'decimal', precision, scale };
      }
      case 'array': {
        this.expect('<');
        const elementType = this.parseType();
        this.expect('>');
        return { kind: 'array', elementType };
      }
      case 'map': {
        this.expect('<');
        const keyType = this.parseType();
        this.expect(',');
        const valueType = this.parseType();
        this.expect('>');
        return { kind: 'map', keyType, valueType };
      }
      case 'struct': {
        this.expect('<');
        const fields: DeltaStructField[] = [];
        const seen = new Set<string>();
        for (;;) {
          const name = this.word();
          if (!NAME_RE.test(name)) this.fail(`field name "${name}" is not an identifier`);
          if (seen.has(name.toLowerCase())) this.fail(`struct field "${name}" appears twice`);
          seen.add(name.toLowerCase());
          this.expect(':');
          const type = this.parseType();
          let nullable = true;
          if (/^\s*not\s+null\b/.test(this.rest())) {
            this.pos += /^\s*not\s+null/.exec(this.rest())![0].length;
            nullable = false;
          }
          fields.push({ name, type, nullable });
          if (this.peek() === ',') {
            this.pos++;
            continue;
          }
          break;
        }
        this.expect('>');
        return { kind: 'struct', fields };
      }
      default: {
        const name =
          PRIMITIVE_ALIASES[word] ?? (DELTA_PRIMITIVE_TYPES as readonly string[]).find((n) => n === word);
        if (!name) {
          this.pos = start;
          this.skipSpace();
          this.fail(`unknown type "${word}"`);
        }
        return { kind: 'primitive', name: name as DeltaPrimitiveType };
      }
    }
  }
}
