import * as zlib from 'node:zlib';
import { LakehouseError } from '../errors.js';

/**
 * A streaming Parquet writer for row objects of a fixed, nested schema (what checkpoints need):
 * rows are shredded into leaf columns as they are added, and `flush` encodes them as a row group
 * and hands out its bytes, so memory is bounded by one row group whatever the number of rows. Structs, maps of strings and lists of strings, with string / int64 / int32 / boolean
 * leaves; every field optional except map keys. Values are PLAIN, levels RLE, one data page (v1)
 * per column chunk; pages uncompressed, or gzip / zstd (Node's zlib).
 *
 * Contract: `add` never throws for a field missing from an object (it is null) and ignores fields
 * the schema does not name; a value of the wrong JavaScript type is INTERNAL (a caller bug).
 * `flush` and `finish` return parts to write in order (views that stay valid: buffers are never
 * reused); all of them, concatenated, are the file.
 */

export type ParquetField =
  | { name: string; kind: 'string' | 'int64' | 'int32' | 'bool' }
  | { name: string; kind: 'struct'; fields: ParquetField[] }
  | { name: string; kind: 'map' }
  | { name: string; kind: 'list' };

export type ParquetCodec = 'uncompressed' | 'gzip' | 'zstd';

const T_BOOLEAN = 0;
const T_INT32 = 1;
const T_INT64 = 2;
const T_BYTE_ARRAY = 6;
const CONVERTED_UTF8 = 0;
const CONVERTED_MAP = 1;
const CONVERTED_LIST = 3;
const REQUIRED = 0;
const OPTIONAL = 1;
const REPEATED = 2;
const ENC_PLAIN = 0;
const ENC_RLE = 3;
const CODEC_ID: Record<ParquetCodec, number> = { uncompressed: 0, gzip: 2, zstd: 6 };

/** A leaf column being filled: levels and PLAIN-encoded values of the current row group. */
class Leaf {
  defs = new Uint8Array(1024);
  reps: Uint8Array | null;
  values = Buffer.allocUnsafe(1024);
  /** Level entries and bytes of values in the current row group. */
  n = 0;
  bytes = 0;
  /** Bits of a boolean column (PLAIN booleans are bit-packed). */
  bits = 0;

  constructor(
    readonly path: string[],
    readonly kind: 'string' | 'int64' | 'int32' | 'bool',
    /** Definition level of a non-null value. */
    readonly maxDef: number,
    readonly maxRep: number,
  ) {
    this.reps = maxRep > 0 ? new Uint8Array(1024) : null;
  }

  private level(def: number, rep: number): void {
    if (this.n === this.defs.length) {
      const grow = new Uint8Array(this.n * 2);
      grow.set(this.defs);
      this.defs = grow;
      if (this.reps) {
        const r = new Uint8Array(this.n * 2);
        r.set(this.reps);
        this.reps = r;
      }
    }
    this.defs[this.n] = def;
    if (this.reps) this.reps[this.n] = rep;
    this.n++;
  }

  private room(extra: number): void {
    if (this.bytes + extra <= this.values.length) return;
    const grow = Buffer.allocUnsafe(Math.max(this.values.length * 2, this.bytes + extra));
    this.values.copy(grow, 0, 0, this.bytes);
    this.values = grow;
  }

  null(def: number, rep: number): void {
    this.level(def, rep);
  }

  /** `count` rows where the whole top-level column is null (levels 0). */
  nullRows(count: number): void {
    const need = this.n + count;
    if (need > this.defs.length) {
      const size = Math.max(need, this.defs.length * 2);
      const grow = new Uint8Array(size);
      grow.set(this.defs.subarray(0, this.n));
      this.defs = grow;
      if (this.reps) {
        const r = new Uint8Array(size);
        r.set(this.reps.subarray(0, this.n));
        this.reps = r;
      }
    }
    this.defs.fill(0, this.n, need);
    this.reps?.fill(0, this.n, need);
    this.n = need;
  }

  value(v: unknown, rep: number): void {
    this.level(this.maxDef, rep);
    switch (this.kind) {
      case 'string': {
        if (typeof v !== 'string') throw wrongType(this.path, v);
        this.room(4 + v.length * 3);
        const len = this.values.write(v, this.bytes + 4, 'utf8');
        this.values.writeUInt32LE(len, this.bytes);
        this.bytes += 4 + len;
        return;
      }
      case 'int64': {
        if (typeof v !== 'number' || !Number.isFinite(v)) throw wrongType(this.path, v);
        const x = Math.trunc(v);
        const hi = Math.floor(x / 0x100000000);
        this.room(8);
        this.values.writeUInt32LE(x - hi * 0x100000000, this.bytes);
        this.values.writeInt32LE(hi, this.bytes + 4);
        this.bytes += 8;
        return;
      }
      case 'int32': {
        if (typeof v !== 'number' || !Number.isFinite(v)) throw wrongType(this.path, v);
        this.room(4);
        this.values.writeInt32LE(Math.trunc(v), this.bytes);
        this.bytes += 4;
        return;
      }
      case 'bool': {
        if (typeof v !== 'boolean') throw wrongType(this.path, v);
        const i = this.bits++;
        if ((i & 7) === 0) {
          this.room(1);
          this.values[this.bytes++] = 0;
        }
        if (v) this.values[this.bytes - 1]! |= 1 << (i & 7);
        return;
      }
    }
  }

  /** Start a new row group. The values buffer is replaced, not reused: pages handed out still view it. */
  reset(): void {
    // Sized for a row group like the last one (no growing copies), not for its doubled capacity.
    this.values = Buffer.allocUnsafe(Math.max(1024, Math.ceil(this.bytes * 1.1)));
    this.n = 0;
    this.bytes = 0;
    this.bits = 0;
  }
}

function wrongType(path: string[], v: unknown): LakehouseError {
  return new LakehouseError(
    'INTERNAL',
    `parquet: ${path.join('.')} got ${typeof v} ${JSON.stringify(v)?.slice(0, 60)} (this is a bug)`,
  );
}

/** The shredding plan of a field: its definition level when non-null and how to write a value. */
type Plan = (
  | { kind: 'leaf'; def: number; leaf: Leaf; leaves: Leaf[] }
  | { kind: 'struct'; def: number; name: string[]; children: { name: string; plan: Plan }[]; leaves: Leaf[] }
  | { kind: 'map' | 'list'; def: number; key: Leaf; value: Leaf; leaves: Leaf[] }
) & {
  /** Rows of the current row group this (top-level) column's levels cover. */
  rows: number;
};

interface SchemaOut {
  type?: number;
  repetition?: number;
  name: string;
  numChildren?: number;
  converted?: number;
}

export class ParquetStreamWriter {
  private readonly leaves: Leaf[] = [];
  private readonly plans = new Map<string, Plan>();
  private readonly schemaOut: SchemaOut[] = [];
  private readonly rowGroups: Uint8Array[] = [];
  private rows = 0;
  private totalRows = 0;
  private offset = 4;
  private started = false;

  constructor(
    private readonly fields: ParquetField[],
    private readonly options: { codec?: ParquetCodec; createdBy?: string } = {},
  ) {
    this.schemaOut.push({ name: 'root', numChildren: fields.length });
    for (const f of fields) this.plans.set(f.name, this.plan(f, [], 0, 0));
  }

  private plan(f: ParquetField, parent: string[], parentDef: number, rep: number): Plan {
    const path = [...parent, f.name];
    const def = parentDef + 1; // every field is optional
    switch (f.kind) {
      case 'struct': {
        this.schemaOut.push({ repetition: OPTIONAL, name: f.name, numChildren: f.fields.length });
        const children = f.fields.map((c) => ({ name: c.name, plan: this.plan(c, path, def, rep) }));
        return {
          kind: 'struct',
          def,
          name: path,
          children,
          leaves: children.flatMap((c) => c.plan.leaves),
          rows: 0,
        };
      }
      case 'map':
      case 'list': {
        const isMap = f.kind === 'map';
        this.schemaOut.push({
          repetition: OPTIONAL,
          name: f.name,
          numChildren: 1,
          converted: isMap ? CONVERTED_MAP : CONVERTED_LIST,
        });
        this.schemaOut.push({
          repetition: REPEATED,
          name: isMap ? 'key_value' : 'list',
          numChildren: isMap ? 2 : 1,
        });
        const entry = [...path, isMap ? 'key_value' : 'list'];
        // Map keys are required: a key is defined where its entry is.
        let key: Leaf;
        if (isMap) {
          this.schemaOut.push({
            type: T_BYTE_ARRAY,
            repetition: REQUIRED,
            name: 'key',
            converted: CONVERTED_UTF8,
          });
          key = this.leaf([...entry, 'key'], 'string', def + 1, 1);
        }
        const valueName = isMap ? 'value' : 'element';
        this.schemaOut.push({
          type: T_BYTE_ARRAY,
          repetition: OPTIONAL,
          name: valueName,
          converted: CONVERTED_UTF8,
        });
        const value = this.leaf([...entry, valueName], 'string', def + 2, 1);
        key ??= value;
        return { kind: f.kind, def, key, value, leaves: isMap ? [key, value] : [value], rows: 0 };
      }
      default: {
        const type = { string: T_BYTE_ARRAY, int64: T_INT64, int32: T_INT32, bool: T_BOOLEAN }[f.kind];
        this.schemaOut.push({
          type,
          repetition: OPTIONAL,
          name: f.name,
          ...(f.kind === 'string' ? { converted: CONVERTED_UTF8 } : {}),
        });
        const leaf = this.leaf(path, f.kind, def, rep);
        return { kind: 'leaf', def, leaf, leaves: [leaf], rows: 0 };
      }
    }
  }

  private leaf(path: string[], kind: Leaf['kind'], maxDef: number, maxRep: number): Leaf {
    const leaf = new Leaf(path, kind, maxDef, maxRep);
    this.leaves.push(leaf);
    return leaf;
  }

  /** Rows added since the last flush. */
  get pendingRows(): number {
    return this.rows;
  }

  /** Add one row holding a value in top-level column `column` (the others null). */
  addRow(column: string, value: Record<string, unknown>): void {
    const plan = this.plans.get(column);
    if (!plan) throw new LakehouseError('INTERNAL', `parquet: no column ${column} (this is a bug)`);
    // Rows of other columns are counted, and their null levels written in one go when needed.
    const behind = this.rows - plan.rows;
    if (behind > 0) for (const leaf of plan.leaves) leaf.nullRows(behind);
    write(plan, value, 0, 0);
    this.rows++;
    plan.rows = this.rows;
  }

  /** Bring every column's levels up to the current row. */
  private catchUp(): void {
    for (const plan of this.plans.values()) {
      const behind = this.rows - plan.rows;
      if (behind > 0) for (const leaf of plan.leaves) leaf.nullRows(behind);
      plan.rows = 0;
    }
  }

  /** Encode the rows added so far as one row group; the bytes to append to the file (with "PAR1" first). */
  flush(): Uint8Array[] {
    const parts: Uint8Array[] = [];
    if (!this.started) {
      parts.push(Buffer.from('PAR1'));
      this.started = true;
    }
    if (this.rows === 0) return parts;
    this.catchUp();
    const chunks: Uint8Array[] = [];
    const groupStart = this.offset;
    let uncompressedTotal = 0;
    const codec = CODEC_ID[this.options.codec ?? 'uncompressed'];
    for (const leaf of this.leaves) {
      const page = this.page(leaf);
      const start = this.offset;
      let size = 0;
      for (const b of page.parts) {
        parts.push(b);
        size += b.length;
      }
      this.offset += size;
      uncompressedTotal += page.uncompressed;
      chunks.push(columnChunk(leaf, start, size, page.uncompressed, codec));
      leaf.reset();
    }
    this.rowGroups.push(
      rowGroup(
        chunks,
        uncompressedTotal,
        this.rows,
        groupStart,
        this.offset - groupStart,
        this.rowGroups.length,
      ),
    );
    this.totalRows += this.rows;
    this.rows = 0;
    return parts;
  }

  /** Flush the last row group and return the remaining parts (row group, footer, its length, "PAR1"). */
  finish(): Uint8Array[] {
    const parts = this.flush();
    const footer = fileMetaData(
      this.schemaOut,
      this.totalRows,
      this.rowGroups,
      this.options.createdBy ?? 'lakehouse-kit',
    );
    const tail = Buffer.alloc(8);
    tail.writeUInt32LE(footer.length, 0);
    tail.write('PAR1', 4, 'latin1');
    parts.push(footer, tail);
    return parts;
  }

  /** One data page (v1) holding a column chunk's levels and values, as parts to write in order. */
  private page(leaf: Leaf): { parts: Uint8Array[]; uncompressed: number } {
    const body: Uint8Array[] = [];
    if (leaf.maxRep > 0) body.push(levels(leaf.reps!, leaf.n, leaf.maxRep));
    body.push(levels(leaf.defs, leaf.n, leaf.maxDef));
    body.push(leaf.values.subarray(0, leaf.bytes));
    let length = 0;
    for (const b of body) length += b.length;
    const codec = this.options.codec ?? 'uncompressed';
    let stored = body;
    if (codec !== 'uncompressed') {
      const joined = Buffer.concat(body, length);
      stored = [codec === 'zstd' ? zlib.zstdCompressSync(joined) : zlib.gzipSync(joined)];
    }
    let storedLength = 0;
    for (const b of stored) storedLength += b.length;
    const header = new Thrift();
    header.i32(1, 0); // DATA_PAGE
    header.i32(2, length);
    header.i32(3, storedLength);
    header.beginStruct(5);
    header.i32(1, leaf.n);
    header.i32(2, ENC_PLAIN);
    header.i32(3, ENC_RLE);
    header.i32(4, ENC_RLE);
    header.endStruct();
    header.stop();
    const h = header.bytes();
    return { parts: [h, ...stored], uncompressed: h.length + length };
  }
}

/** Shred one value of a field into its leaves. `d` is the definition level reached so far. */
function write(plan: Plan, value: unknown, d: number, rep: number): void {
  if (value === null || value === undefined) {
    for (const leaf of plan.leaves) leaf.null(d, rep);
    return;
  }
  switch (plan.kind) {
    case 'leaf':
      plan.leaf.value(value, rep);
      return;
    case 'struct': {
      if (typeof value !== 'object') throw wrongType(plan.name, value);
      const o = value as Record<string, unknown>;
      for (const c of plan.children) write(c.plan, o[c.name], plan.def, rep);
      return;
    }
    case 'map': {
      let r = rep;
      let any = false;
      for (const k in value as Record<string, unknown>) {
        const v = (value as Record<string, unknown>)[k];
        plan.key.value(k, r);
        if (v === null || v === undefined) plan.value.null(plan.def + 1, r);
        else plan.value.value(v, r);
        r = 1;
        any = true;
      }
      if (!any) {
        plan.key.null(plan.def, rep);
        plan.value.null(plan.def, rep);
      }
      return;
    }
    case 'list': {
      const items = value as unknown[];
      if (items.length === 0) plan.value.null(plan.def, rep);
      for (let i = 0; i < items.length; i++) {
        const v = items[i];
        const r = i === 0 ? rep : 1;
        if (v === null || v === undefined) plan.value.null(plan.def + 1, r);
        else plan.value.value(v, r);
      }
    }
  }
}

/** RLE-encoded levels with their 4-byte length prefix (data page v1). Runs only, no bit-packing. */
function levels(values: Uint8Array, n: number, max: number): Uint8Array {
  const byteWidth = max === 0 ? 0 : 1; // levels here never exceed 255
  // Count the runs first: the buffer is then the encoding's size (a worst-case buffer per column
  // and row group was megabytes of garbage each, and large allocations make V8 collect).
  let runs = 0;
  for (let i = 0; i < n;) {
    const v = values[i]!;
    let j = i + 1;
    while (j < n && values[j] === v) j++;
    runs++;
    i = j;
  }
  const out = Buffer.allocUnsafe(4 + runs * (5 + byteWidth));
  let p = 4;
  let i = 0;
  while (i < n) {
    const v = values[i]!;
    let j = i + 1;
    while (j < n && values[j] === v) j++;
    let run = (j - i) * 2;
    while (run >= 0x80) {
      out[p++] = (run & 0x7f) | 0x80;
      run = Math.floor(run / 128);
    }
    out[p++] = run;
    if (byteWidth) out[p++] = v;
    i = j;
  }
  out.writeUInt32LE(p - 4, 0);
  return out.subarray(0, p);
}

function columnChunk(
  leaf: Leaf,
  start: number,
  size: number,
  uncompressed: number,
  codec: number,
): Uint8Array {
  const t = new Thrift();
  t.i64(2, start); // file_offset
  t.beginStruct(3); // meta_data
  t.i32(1, { string: T_BYTE_ARRAY, int64: T_INT64, int32: T_INT32, bool: T_BOOLEAN }[leaf.kind]);
  t.listI32(2, [ENC_PLAIN, ENC_RLE]);
  t.listString(3, leaf.path);
  t.i32(4, codec);
  t.i64(5, leaf.n);
  t.i64(6, uncompressed);
  t.i64(7, size);
  t.i64(9, start); // data_page_offset
  t.endStruct();
  t.stop();
  return t.bytes();
}

function rowGroup(
  chunks: Uint8Array[],
  uncompressed: number,
  rows: number,
  start: number,
  size: number,
  ordinal: number,
): Uint8Array {
  const t = new Thrift();
  t.listStructs(1, chunks);
  t.i64(2, uncompressed);
  t.i64(3, rows);
  t.i64(5, start);
  t.i64(6, size);
  t.i16(7, ordinal);
  t.stop();
  return t.bytes();
}

function fileMetaData(
  schema: SchemaOut[],
  rows: number,
  groups: Uint8Array[],
  createdBy: string,
): Uint8Array {
  const t = new Thrift();
  t.i32(1, 1);
  const elements = schema.map((s) => {
    const e = new Thrift();
    if (s.type !== undefined) e.i32(1, s.type);
    if (s.repetition !== undefined) e.i32(3, s.repetition);
    e.string(4, s.name);
    if (s.numChildren !== undefined) e.i32(5, s.numChildren);
    if (s.converted !== undefined) e.i32(6, s.converted);
    e.stop();
    return e.bytes();
  });
  t.listStructs(2, elements);
  t.i64(3, rows);
  t.listStructs(4, groups);
  t.string(6, createdBy);
  t.stop();
  return t.bytes();
}

/** A Thrift compact-protocol struct writer (only what Parquet metadata needs). */
class Thrift {
  private buf = Buffer.allocUnsafe(256);
  private p = 0;
  private last: number[] = [0];

  private room(n: number): void {
    if (this.p + n <= this.buf.length) return;
    const grow = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.p + n));
    this.buf.copy(grow, 0, 0, this.p);
    this.buf = grow;
  }

  private byte(b: number): void {
    this.room(1);
    this.buf[this.p++] = b;
  }

  private varint(n: number): void {
    this.room(10);
    while (n >= 0x80) {
      this.buf[this.p++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.p++] = n;
  }

  private zigzag(n: number): void {
    this.varint(n >= 0 ? n * 2 : -n * 2 - 1);
  }

  private field(id: number, type: number): void {
    const delta = id - this.last[this.last.length - 1]!;
    if (delta > 0 && delta <= 15) this.byte((delta << 4) | type);
    else {
      this.byte(type);
      this.zigzag(id);
    }
    this.last[this.last.length - 1] = id;
  }

  i16(id: number, v: number): void {
    this.field(id, 4);
    this.zigzag(v);
  }

  i32(id: number, v: number): void {
    this.field(id, 5);
    this.zigzag(v);
  }

  i64(id: number, v: number): void {
    this.field(id, 6);
    this.zigzag(v);
  }

  string(id: number, s: string): void {
    this.field(id, 8);
    const b = Buffer.from(s, 'utf8');
    this.varint(b.length);
    this.raw(b);
  }

  private raw(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.p);
    this.p += b.length;
  }

  private listHeader(id: number, size: number, type: number): void {
    this.field(id, 9);
    if (size < 15) this.byte((size << 4) | type);
    else {
      this.byte(0xf0 | type);
      this.varint(size);
    }
  }

  listI32(id: number, values: number[]): void {
    this.listHeader(id, values.length, 5);
    for (const v of values) this.zigzag(v);
  }

  listString(id: number, values: string[]): void {
    this.listHeader(id, values.length, 8);
    for (const v of values) {
      const b = Buffer.from(v, 'utf8');
      this.varint(b.length);
      this.raw(b);
    }
  }

  /** A list of structs, each already encoded (with its stop byte). */
  listStructs(id: number, structs: Uint8Array[]): void {
    this.listHeader(id, structs.length, 12);
    for (const s of structs) this.raw(s);
  }

  beginStruct(id: number): void {
    this.field(id, 12);
    this.last.push(0);
  }

  endStruct(): void {
    this.byte(0);
    this.last.pop();
  }

  stop(): void {
    this.byte(0);
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.p);
  }
}
