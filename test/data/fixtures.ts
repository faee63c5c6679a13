import type { StructType } from '../../lib/delta/schema.js';

/** A schema with every Delta type, nested ones included. */
export const ALL_TYPES: StructType = {
  type: 'struct',
  fields: [
    { name: 'b', type: 'byte', nullable: true, metadata: {} },
    { name: 's', type: 'short', nullable: true, metadata: {} },
    { name: 'i', type: 'integer', nullable: false, metadata: { comment: 'not null' } },
    { name: 'l', type: 'long', nullable: true, metadata: {} },
    { name: 'f', type: 'float', nullable: true, metadata: {} },
    { name: 'd', type: 'double', nullable: true, metadata: {} },
    { name: 'dec', type: 'decimal(10,2)', nullable: true, metadata: {} },
    { name: 'str', type: 'string', nullable: true, metadata: {} },
    { name: 'bin', type: 'binary', nullable: true, metadata: {} },
    { name: 'bool', type: 'boolean', nullable: true, metadata: {} },
    { name: 'day', type: 'date', nullable: true, metadata: {} },
    { name: 'ts', type: 'timestamp', nullable: true, metadata: {} },
    { name: 'ntz', type: 'timestamp_ntz', nullable: true, metadata: {} },
    {
      name: 'st',
      type: {
        type: 'struct',
        fields: [
          { name: 'x', type: 'integer', nullable: true, metadata: {} },
          { name: 'y', type: 'string', nullable: true, metadata: {} },
        ],
      },
      nullable: true,
      metadata: {},
    },
    {
      name: 'arr',
      type: { type: 'array', elementType: 'long', containsNull: true },
      nullable: true,
      metadata: {},
    },
    {
      name: 'm',
      type: { type: 'map', keyType: 'string', valueType: 'double', valueContainsNull: true },
      nullable: true,
      metadata: {},
    },
  ],
};

export const ALL_TYPES_ROWS = [
  {
    b: -128,
    s: 32767,
    i: 1,
    l: '9007199254740993',
    f: 1.5,
    d: 'NaN',
    dec: '-12345678.90',
    str: 'héllo "world"',
    bin: 'AAEC/w==',
    bool: true,
    day: '1969-12-31',
    ts: '2026-01-02T03:04:05.123456Z',
    ntz: '1900-01-01T00:00:00.000001',
    st: { x: 7, y: null },
    arr: [1, null, 3],
    m: [
      ['a', 1.25],
      ['b', null],
    ],
  },
  {
    b: null,
    s: null,
    i: 2,
    l: -5,
    f: null,
    d: '-Infinity',
    dec: '0.05',
    str: '',
    bin: null,
    bool: false,
    day: null,
    ts: '1970-01-01T00:00:00.000000Z',
    ntz: null,
    st: null,
    arr: [],
    m: null,
  },
];
