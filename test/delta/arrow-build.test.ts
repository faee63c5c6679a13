import * as arrow from 'apache-arrow';
import { buildData } from '../../lib/delta/arrow-build.js';
import { columnValues } from '../../lib/delta/arrow-rows.js';

/** buildData (checkpoint writing) and columnValues (checkpoint reading) are inverses, leaf by leaf. */
describe('arrow-build leaves', () => {
  test('utf8 with nulls and multi-byte characters', () => {
    const values = ['a', null, '', 'zürich ☃ 𝄞', undefined, 'day=2026-01-01/part-0.parquet'];
    const data = buildData(new arrow.Utf8(), values);
    expect(data.nullCount).toBe(2);
    expect(arrow.makeVector(data).toArray()).toEqual(values.map((v) => v ?? null));
    expect(columnValues(data)).toEqual(values.map((v) => v ?? null));
  });

  test('int64, int32 and bool with nulls', () => {
    const longs = [0, -1, 2 ** 53 - 1, null, 1_700_000_000_123];
    const d64 = buildData(new arrow.Int64(), longs);
    expect([...arrow.makeVector(d64)]).toEqual(longs.map((v) => (v === null ? null : BigInt(v))));
    expect(columnValues(d64)).toEqual(longs);
    const ints = [3, null, -7];
    expect(columnValues(buildData(new arrow.Int32(), ints))).toEqual(ints);
    const bools = [true, false, null, true, true, false, false, true, true];
    const db = buildData(new arrow.Bool(), bools);
    expect([...arrow.makeVector(db)]).toEqual(bools);
    expect(columnValues(db)).toEqual(bools);
  });

  test('a struct of leaves survives an IPC round trip', () => {
    const type = new arrow.Struct([
      new arrow.Field('path', new arrow.Utf8(), true),
      new arrow.Field('size', new arrow.Int64(), true),
      new arrow.Field('dataChange', new arrow.Bool(), true),
    ]);
    const rows = [{ path: 'a', size: 10, dataChange: true }, null, { path: 'é', size: 0, dataChange: false }];
    const data = buildData(type, rows);
    const schema = new arrow.Schema([new arrow.Field('add', type, true)]);
    const batch = new arrow.RecordBatch(
      schema,
      arrow.makeData({ type: new arrow.Struct(schema.fields), length: 3, nullCount: 0, children: [data] }),
    );
    const back = arrow.tableFromIPC(arrow.tableToIPC(new arrow.Table([batch])));
    expect(columnValues(back.getChild('add')!.data[0]!)).toEqual(rows);
  });
});
