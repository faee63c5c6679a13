import {
  assignColumnMapping,
  columnMappingMode,
  mergeSchemas,
  parseSchema,
  physicalName,
  physicalSchema,
  serializeSchema,
  type StructType,
} from '../../lib/delta/schema.js';

const s = (fields: unknown[]): StructType => parseSchema(JSON.stringify({ type: 'struct', fields }));
const f = (name: string, type: unknown, nullable = true, metadata = {}) => ({
  name,
  type,
  nullable,
  metadata,
});

describe('schema JSON', () => {
  test('round-trips every type', () => {
    const schema = s([
      f('b', 'byte'),
      f('sh', 'short'),
      f('i', 'integer'),
      f('l', 'long', false),
      f('fl', 'float'),
      f('d', 'double'),
      f('dec', 'decimal(38,18)'),
      f('str', 'string'),
      f('bin', 'binary'),
      f('bool', 'boolean'),
      f('date', 'date'),
      f('ts', 'timestamp'),
      f('ntz', 'timestamp_ntz'),
      f('st', { type: 'struct', fields: [f('x', 'integer')] }),
      f('arr', { type: 'array', elementType: 'string', containsNull: false }),
      f('m', { type: 'map', keyType: 'string', valueType: 'long', valueContainsNull: true }, true, {
        comment: 'c',
      }),
    ]);
    expect(parseSchema(serializeSchema(schema))).toEqual(schema);
  });

  test('an unknown type is a clear error', () => {
    expect(() => s([f('x', 'uuid')])).toThrow('delta: metaData.schemaString.x: unknown type "uuid"');
    expect(() => parseSchema('{"type":')).toThrow(/not valid JSON/);
  });
});

describe('mergeSchemas', () => {
  const table = s([
    f('id', 'long', false),
    f('name', 'string'),
    f('info', { type: 'struct', fields: [f('a', 'integer')] }),
  ]);

  test('same schema, or fewer nullable columns: unchanged', () => {
    expect(mergeSchemas(table, table)).toEqual(table);
    expect(mergeSchemas(table, s([f('id', 'long'), f('NAME', 'string')]))).toEqual(table);
  });

  test('new nullable columns, nested too, are added with mergeSchema', () => {
    const incoming = s([
      f('id', 'long'),
      f('info', { type: 'struct', fields: [f('a', 'integer'), f('b', 'string')] }),
      f('extra', 'double'),
    ]);
    const merged = mergeSchemas(table, incoming, { mergeSchema: true });
    expect(merged.fields.map((x) => x.name)).toEqual(['id', 'name', 'info', 'extra']);
    expect(merged.fields[2].type).toEqual({ type: 'struct', fields: [f('a', 'integer'), f('b', 'string')] });
    expect(merged.fields[0].nullable).toBe(false);
  });

  test('without mergeSchema every offending column is named', () => {
    const incoming = s([
      f('id', 'string'),
      f('extra', 'double'),
      f('info', { type: 'struct', fields: [f('z', 'long')] }),
    ]);
    expect(() => mergeSchemas(table, incoming)).toThrow(
      expect.objectContaining({
        code: 'SCHEMA_MISMATCH',
        message: expect.stringContaining(
          'column id has type long in the table but string in the data (type changes are not allowed)\n' +
            '  - column info.z (long) is not in the table schema\n' +
            '  - column extra (double) is not in the table schema',
        ),
      }),
    );
  });

  test('mergeSchema still refuses type changes and new NOT NULL columns', () => {
    const incoming = s([f('id', 'integer'), f('req', 'string', false)]);
    expect(() => mergeSchemas(table, incoming, { mergeSchema: true })).toThrow(
      expect.objectContaining({
        code: 'SCHEMA_EVOLUTION_REFUSED',
        message: expect.stringMatching(
          /column id has type long in the table but integer[\s\S]*new column req must be nullable/,
        ),
      }),
    );
  });

  test('a missing NOT NULL column is refused', () => {
    expect(() => mergeSchemas(table, s([f('name', 'string')]))).toThrow(
      /column id is NOT NULL in the table but missing/,
    );
  });
});

describe('column mapping', () => {
  test('modes, physical names and assignment of ids', () => {
    expect(columnMappingMode({})).toBe('none');
    expect(columnMappingMode({ 'delta.columnMapping.mode': 'name' })).toBe('name');
    expect(() => columnMappingMode({ 'delta.columnMapping.mode': 'x' })).toThrow(
      /unknown delta.columnMapping.mode/,
    );
    const { schema, maxColumnId } = assignColumnMapping(
      s([f('a', 'long'), f('b', { type: 'struct', fields: [f('c', 'long')] })]),
      0,
    );
    expect(maxColumnId).toBe(3);
    expect(schema.fields[0].metadata['delta.columnMapping.id']).toBe(1);
    expect(physicalName(schema.fields[0], 'name')).toMatch(/^col-[0-9a-f-]{36}$/);
    expect(physicalName(schema.fields[0], 'none')).toBe('a');
    const phys = physicalSchema(schema, 'id');
    expect(phys.fields[1].name).toBe(schema.fields[1].metadata['delta.columnMapping.physicalName']);
    expect(() => physicalName({ name: 'x', type: 'long', nullable: true, metadata: {} }, 'name')).toThrow(
      /has no delta.columnMapping.physicalName/,
    );
  });
});
