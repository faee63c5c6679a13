import * as arrow from 'apache-arrow';

/**
 * Build Arrow data column-wise from plain values (the inverse of `arrow-rows.ts`), for writing
 * checkpoints: struct fields are read by name, maps from objects, Int64 from numbers. Much faster
 * than appending row objects to Arrow's builders, which matters for checkpoints of 1M files.
 */
export function buildData(type: arrow.DataType, values: readonly unknown[]): arrow.Data {
  const n = values.length;
  if (arrow.DataType.isStruct(type)) {
    const { bitmap, nullCount } = validity(values);
    const children = type.children.map((f: arrow.Field) =>
      buildData(
        f.type,
        values.map((v) =>
          v === null || v === undefined ? null : ((v as Record<string, unknown>)[f.name] ?? null),
        ),
      ),
    );
    return arrow.makeData({ type, length: n, nullCount, nullBitmap: bitmap, children });
  }
  if (arrow.DataType.isMap(type)) {
    const { bitmap, nullCount } = validity(values);
    const offsets = new Int32Array(n + 1);
    const keys: unknown[] = [];
    const vals: unknown[] = [];
    for (let i = 0; i < n; i++) {
      const v = values[i] as Record<string, unknown> | null | undefined;
      if (v) {
        for (const [k, x] of Object.entries(v)) {
          keys.push(k);
          vals.push(x ?? null);
        }
      }
      offsets[i + 1] = keys.length;
    }
    const entryType = type.children[0].type as arrow.Struct;
    const entries = arrow.makeData({
      type: entryType,
      length: keys.length,
      nullCount: 0,
      children: [buildData(entryType.children[0].type, keys), buildData(entryType.children[1].type, vals)],
    });
    return arrow.makeData({
      type,
      length: n,
      nullCount,
      nullBitmap: bitmap,
      valueOffsets: offsets,
      child: entries,
    });
  }
  if (arrow.DataType.isList(type)) {
    const { bitmap, nullCount } = validity(values);
    const offsets = new Int32Array(n + 1);
    const items: unknown[] = [];
    for (let i = 0; i < n; i++) {
      const v = values[i] as unknown[] | null | undefined;
      if (v) items.push(...v);
      offsets[i + 1] = items.length;
    }
    const child = buildData(type.children[0].type, items);
    return arrow.makeData({ type, length: n, nullCount, nullBitmap: bitmap, valueOffsets: offsets, child });
  }
  if (arrow.DataType.isInt(type) && type.bitWidth === 64) {
    return arrow.vectorFromArray(
      values.map((v) => (v === null || v === undefined ? null : BigInt(Math.trunc(v as number)))),
      type,
    ).data[0];
  }
  return arrow.vectorFromArray(
    values.map((v) => (v === undefined ? null : v)),
    type,
  ).data[0];
}

function validity(values: readonly unknown[]): { bitmap: Uint8Array; nullCount: number } {
  const bitmap = new Uint8Array((values.length + 7) >> 3);
  let nullCount = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] === null || values[i] === undefined) nullCount++;
    else bitmap[i >> 3] |= 1 << (i & 7);
  }
  return { bitmap, nullCount };
}
