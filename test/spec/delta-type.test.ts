import { isLakehouseError } from '../../lib/errors.js';
import {
  deltaTypeToBigQueryType,
  deltaTypeToHiveType,
  deltaTypeToJson,
  formatDeltaType,
  parseDeltaType,
} from '../../lib/spec/index.js';

describe('Delta type strings', () => {
  test.each([
    ['string', 'string'],
    ['int', 'integer'],
    ['bigint', 'long'],
    ['smallint', 'short'],
    ['tinyint', 'byte'],
    ['timestamp_ntz', 'timestamp_ntz'],
    ['decimal( 10 , 2 )', 'decimal(10,2)'],
    ['array< struct< a : int , b : string not null > >', 'array<struct<a:integer,b:string not null>>'],
    ['map<string,array<double>>', 'map<string,array<double>>'],
  ])('%s parses to %s', (text, canonical) => {
    expect(formatDeltaType(parseDeltaType(text))).toBe(canonical);
  });

  test.each([
    ['lng', /at character 1: unknown type "lng"; use a Delta type: string, long/],
    ['LONG', /at character 1: write type names in lower case: "long"/],
    ['array<Decimal(5,2)>', /at character 7: write type names in lower case: "decimal"/],
    ['decimal(39,2)', /decimal precision 39 is outside 1\.\.38/],
    ['decimal(5,6)', /decimal scale 6 is larger than its precision 5/],
    ['decimal(5)', /expected ","/],
    ['array<string', /expected ">"/],
    ['map<string>', /expected ","/],
    ['struct<a:int,a:long>', /struct field "a" appears twice/],
    ['struct<>', /unexpected ">"/],
    ['string string', /unexpected "string"/],
    ['', /a type is missing/],
  ])('%j is refused: %s', (text, message) => {
    let err: unknown;
    try {
      parseDeltaType(text);
    } catch (e) {
      err = e;
    }
    expect(isLakehouseError(err, 'INVALID_SPEC')).toBe(true);
    expect((err as Error).message).toMatch(message);
  });

  test.each([
    ['long', 'bigint', 'INT64'],
    ['integer', 'int', 'INT64'],
    ['int', 'int', 'INT64'],
    ['short', 'smallint', 'INT64'],
    ['byte', 'tinyint', 'INT64'],
    ['string', 'string', 'STRING'],
    ['binary', 'binary', 'BYTES'],
    ['boolean', 'boolean', 'BOOL'],
    ['float', 'float', 'FLOAT64'],
    ['double', 'double', 'FLOAT64'],
    ['date', 'date', 'DATE'],
    ['timestamp', 'timestamp', 'TIMESTAMP'],
    ['timestamp_ntz', 'timestamp', 'DATETIME'],
    ['decimal(10,2)', 'decimal(10,2)', 'NUMERIC(10, 2)'],
    ['decimal(38,10)', 'decimal(38,10)', 'BIGNUMERIC(38, 10)'],
    ['decimal(38,0)', 'decimal(38,0)', 'BIGNUMERIC(38, 0)'],
    ['array<long>', 'array<bigint>', 'ARRAY<INT64>'],
    ['map<string,int>', 'map<string,int>', 'ARRAY<STRUCT<key STRING, value INT64>>'],
    [
      'struct<a:long,b:array<struct<c:timestamp_ntz>>>',
      'struct<a:bigint,b:array<struct<c:timestamp>>>',
      'STRUCT<a INT64, b ARRAY<STRUCT<c DATETIME>>>',
    ],
  ])('%s is %s in Hive/Glue/Athena and %s in BigQuery', (delta, hive, bq) => {
    expect(deltaTypeToHiveType(delta)).toBe(hive);
    expect(deltaTypeToBigQueryType(delta)).toBe(bq);
  });

  test('the Delta log JSON follows PROTOCOL.md schema serialization', () => {
    expect(
      deltaTypeToJson(parseDeltaType('array<struct<a:int not null,m:map<string,decimal(5,1)>>>')),
    ).toEqual({
      type: 'array',
      containsNull: true,
      elementType: {
        type: 'struct',
        fields: [
          { name: 'a', type: 'integer', nullable: false, metadata: {} },
          {
            name: 'm',
            type: { type: 'map', keyType: 'string', valueType: 'decimal(5,1)', valueContainsNull: true },
            nullable: true,
            metadata: {},
          },
        ],
      },
    });
  });
});
