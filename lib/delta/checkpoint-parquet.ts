/**
 * A direct decoder for checkpoint Parquet files: column chunks → action objects, with no Arrow in
 * between (no WebAssembly decode, no IPC copy, no per-column intermediate arrays).
 *
 * Contract:
 * - `decodeRowGroup` returns, for each wanted top-level column (action name) that has a value in
 *   the row group, one value per row of the row group: the action body as `columnValues` (arrow-rows.ts) would build it (structs
 *   as objects without their null fields, maps as objects keeping null values, lists as arrays,
 *   64-bit integers as numbers), or `null` where the row holds no such action.
 * - It decodes what Spark, delta-rs and this kit write into checkpoints: flat or nested structs,
 *   maps and lists of primitive leaves (one level of repetition), BOOLEAN / INT32 / INT64 /
 *   BYTE_ARRAY leaves, PLAIN and dictionary encodings, RLE levels, data pages v1 and v2, every
 *   codec hyparquet-compressors has. Anything else throws `UnsupportedCheckpointLayout` before
 *   any value is returned, and the caller decodes that row group another way.
 * - Malformed bytes throw a plain Error (the caller names the file in a CORRUPT_LOG).
 * - Children named in `skip` (e.g. `add.stats_parsed`) are neither read nor decoded.
 */
import type { ColumnMetaData, FileMetaData, RowGroup, SchemaElement } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';

/** The row group uses something this decoder does not handle; decode it another way. */
export class UnsupportedCheckpointLayout extends Error {}

type LeafType = 'BOOLEAN' | 'INT32' | 'INT64' | 'BYTE_ARRAY';

interface LeafNode {
  kind: 'leaf';
  name: string;
  /** Definition level at which this field is non-null. */
  def: number;
  type: LeafType;
  /** Index of the column chunk in the row group. */
  column: number;
  maxRep: number;
}
interface StructNode {
  kind: 'struct';
  name: string;
  def: number;
  children: Node[];
  /** Children of shapes the decoder does not read (the struct is readable only without them). */
  unsupported: string[];
}
interface MapNode {
  kind: 'map';
  name: string;
  /** The map is non-null at `def`, has at least one entry at `def + 1` (or more, if required). */
  def: number;
  entryDef: number;
  key: LeafNode;
  value: LeafNode;
}
interface ListNode {
  kind: 'list';
  name: string;
  def: number;
  entryDef: number;
  element: LeafNode;
}
type Node = LeafNode | StructNode | MapNode | ListNode;

interface SchemaCursor {
  elements: SchemaElement[];
  at: number;
  /** Leaf column index in file order. */
  leaf: number;
}

/**
 * The top-level fields of a checkpoint file's schema, by name, as nodes of the shapes the decoder
 * understands; a field of another shape maps to null (decoding it throws Unsupported).
 */
export function checkpointSchema(metadata: FileMetaData): Map<string, Node | null> {
  const cursor: SchemaCursor = { elements: metadata.schema, at: 1, leaf: 0 };
  const out = new Map<string, Node | null>();
  const n = metadata.schema[0]?.num_children ?? 0;
  for (let i = 0; i < n; i++) {
    const name = metadata.schema[cursor.at]!.name;
    out.set(name, parseNode(cursor, 0, 0));
  }
  return out;
}

/** Parse the element at the cursor (and its subtree); null when its shape is not supported. */
function parseNode(c: SchemaCursor, parentDef: number, parentRep: number): Node | null {
  const el = c.elements[c.at++]!;
  const rep = el.repetition_type;
  const def = rep === 'REQUIRED' ? parentDef : parentDef + 1;
  if (rep === 'REPEATED') {
    skipChildren(c, el);
    return null; // a repeated field outside a MAP/LIST wrapper
  }
  if (!el.num_children) {
    const type = leafType(el);
    const column = c.leaf++;
    return type ? { kind: 'leaf', name: el.name, def, type, column, maxRep: parentRep } : null;
  }
  const converted = el.converted_type;
  const logical = el.logical_type?.type;
  if (converted === 'MAP' || converted === 'MAP_KEY_VALUE' || logical === 'MAP') {
    const start = c.at;
    const leaf = c.leaf;
    const node = parseMap(c, el, def, parentRep);
    if (!node) {
      c.at = start;
      c.leaf = leaf;
      skipChildren(c, el);
    }
    return node;
  }
  if (converted === 'LIST' || logical === 'LIST') {
    const start = c.at;
    const leaf = c.leaf;
    const node = parseList(c, el, def, parentRep);
    if (!node) {
      c.at = start;
      c.leaf = leaf;
      skipChildren(c, el);
    }
    return node;
  }
  const children: Node[] = [];
  const unsupported: string[] = [];
  for (let i = 0; i < el.num_children; i++) {
    const childName = c.elements[c.at]!.name;
    const child = parseNode(c, def, parentRep);
    if (child && (child.kind !== 'struct' || child.unsupported.length === 0)) children.push(child);
    else unsupported.push(childName);
  }
  return { kind: 'struct', name: el.name, def, children, unsupported };
}

function parseMap(c: SchemaCursor, el: SchemaElement, def: number, parentRep: number): MapNode | null {
  if (el.num_children !== 1 || parentRep > 0) return null;
  const kv = c.elements[c.at]!;
  if (kv.repetition_type !== 'REPEATED' || kv.num_children !== 2) return null;
  c.at++;
  const entryDef = def + 1;
  const key = parseNode(c, entryDef, 1);
  const value = parseNode(c, entryDef, 1);
  if (key?.kind !== 'leaf' || value?.kind !== 'leaf' || key.type !== 'BYTE_ARRAY') return null;
  return { kind: 'map', name: el.name, def, entryDef, key, value };
}

function parseList(c: SchemaCursor, el: SchemaElement, def: number, parentRep: number): ListNode | null {
  if (el.num_children !== 1 || parentRep > 0) return null;
  const repeated = c.elements[c.at]!;
  if (repeated.repetition_type !== 'REPEATED') return null;
  const entryDef = def + 1;
  if (!repeated.num_children) {
    // Two-level list: the repeated field is the element itself.
    const type = leafType(repeated);
    if (!type) return null;
    c.at++;
    const element: LeafNode = {
      kind: 'leaf',
      name: repeated.name,
      def: entryDef,
      type,
      column: c.leaf++,
      maxRep: 1,
    };
    return { kind: 'list', name: el.name, def, entryDef, element };
  }
  if (repeated.num_children !== 1) return null;
  c.at++;
  const element = parseNode(c, entryDef, 1);
  if (element?.kind !== 'leaf') return null;
  return { kind: 'list', name: el.name, def, entryDef, element };
}

function skipChildren(c: SchemaCursor, el: SchemaElement): void {
  if (!el.num_children) {
    c.leaf++;
    return;
  }
  for (let i = 0; i < el.num_children; i++) skipChildren(c, c.elements[c.at++]!);
}

/** The leaf types the decoder handles (strings, integers, booleans); undefined for the rest. */
function leafType(el: SchemaElement): LeafType | undefined {
  const logical = el.logical_type?.type;
  const converted = el.converted_type;
  switch (el.type) {
    case 'BOOLEAN':
      return 'BOOLEAN';
    case 'INT32':
    case 'INT64':
      if (logical && logical !== 'INTEGER') return undefined;
      if (converted && !/^U?INT_/.test(converted)) return undefined;
      if (converted?.startsWith('UINT') && el.type === 'INT64') return undefined;
      return el.type;
    case 'BYTE_ARRAY':
      // Strings only: checkpoints have no binary action fields.
      if (logical === 'STRING' || logical === 'JSON' || converted === 'UTF8' || converted === 'JSON')
        return 'BYTE_ARRAY';
      return undefined;
    default:
      return undefined;
  }
}

/** The leaves under a node, except subtrees named in `skip` (dotted paths from the top). */
function leavesOf(node: Node, out: LeafNode[]): void {
  switch (node.kind) {
    case 'leaf':
      out.push(node);
      return;
    case 'map':
      out.push(node.key, node.value);
      return;
    case 'list':
      out.push(node.element);
      return;
    case 'struct':
      for (const ch of node.children) leavesOf(ch, out);
  }
}

/** Drop the children named in `skip` from a top-level struct (a fresh node; the input is kept). */
function without(node: Node, skip: readonly string[]): Node {
  if (node.kind !== 'struct') return node;
  const unsupported = node.unsupported.filter((n) => !skip.includes(n));
  if (unsupported.length > 0)
    throw new UnsupportedCheckpointLayout(
      `${node.name}.${unsupported[0]} has a shape this decoder does not read`,
    );
  return { ...node, children: node.children.filter((ch) => !skip.includes(ch.name)), unsupported: [] };
}

/** Decoded leaf column: levels per entry and the non-null values in order. */
interface LeafData {
  defs: Uint8Array;
  /** Repetition levels (only for leaves under a map or list). */
  reps: Uint8Array | null;
  values: unknown[];
  /** For a leaf under a map or list: where each row's entries start in `defs` (rows + 1 offsets). */
  rowStart: Int32Array | null;
  /** Index in `values` of each level entry (row, for a leaf not under a map or list), -1 for null. */
  valueAt: Int32Array | null;
}

export interface DecodeRequest {
  metadata: FileMetaData;
  rowGroup: number;
  /** Top-level columns wanted (those absent from the file are skipped). */
  columns: readonly string[];
  /** Children of a top-level column not to read, by column: e.g. add → [stats_parsed]. */
  skip?: Readonly<Record<string, readonly string[]>>;
  /** Read the bytes [start, end) of the file. */
  read: (start: number, end: number) => Promise<Uint8Array>;
}

/** Decode the wanted columns of one row group; see the module's contract. */
export async function decodeRowGroup(req: DecodeRequest): Promise<Map<string, unknown[]>> {
  const schema = checkpointSchema(req.metadata);
  const group = req.metadata.row_groups[req.rowGroup]!;
  const rows = Number(group.num_rows);
  const tops: Node[] = [];
  for (const name of req.columns) {
    if (!schema.has(name)) continue;
    const node = schema.get(name);
    if (!node) throw new UnsupportedCheckpointLayout(`column ${name} has a shape this decoder does not read`);
    tops.push(without(node, req.skip?.[name] ?? []));
  }
  const leaves: LeafNode[] = [];
  for (const t of tops) leavesOf(t, leaves);
  for (const leaf of leaves) checkChunk(group, leaf);
  const chunks = await readChunks(
    req,
    leaves.map((leaf) => chunkRange(group, leaf)),
  );
  const decoded = leaves.map((leaf, i) =>
    decodeChunk(chunks[i]!, group.columns[leaf.column]!.meta_data!, leaf),
  );
  const data = new Map<LeafNode, LeafData>();
  leaves.forEach((leaf, i) => data.set(leaf, decoded[i]!));
  const out = new Map<string, unknown[]>();
  for (const top of tops) {
    // A column with no value in this row group (e.g. `remove` among adds) is null in every row.
    const tl: LeafNode[] = [];
    leavesOf(top, tl);
    if (top.def > 0 && tl.every((l) => data.get(l)!.values.length === 0)) continue;
    out.set(top.name, assemble(top, rows, data));
  }
  return out;
}

function checkChunk(group: RowGroup, leaf: LeafNode): void {
  const meta = group.columns[leaf.column]?.meta_data;
  if (!meta) throw new UnsupportedCheckpointLayout(`column chunk ${leaf.column} has no metadata`);
  if (group.columns[leaf.column]!.file_path)
    throw new UnsupportedCheckpointLayout('column chunk in another file');
  if (meta.codec !== 'UNCOMPRESSED' && !compressors[meta.codec as keyof typeof compressors])
    throw new UnsupportedCheckpointLayout(`codec ${meta.codec}`);
  // Decided from the footer, before any page is read: a page then using an encoding its chunk
  // does not list is corruption (an Error), not a reason to hand the bytes to another decoder.
  for (const e of meta.encodings)
    if (!CHUNK_ENCODINGS.has(e)) throw new UnsupportedCheckpointLayout(`encoding ${e}`);
}

/** Encodings a column chunk may list for this decoder to read it. */
const CHUNK_ENCODINGS = new Set(['PLAIN', 'PLAIN_DICTIONARY', 'RLE', 'RLE_DICTIONARY', 'BIT_PACKED']);

/** The byte range of a leaf's column chunk (dictionary page included). */
function chunkRange(group: RowGroup, leaf: LeafNode): [number, number] {
  const meta = group.columns[leaf.column]!.meta_data!;
  const dictOffset = meta.dictionary_page_offset;
  let start = Number(meta.data_page_offset);
  if (dictOffset !== undefined && dictOffset > 0n && Number(dictOffset) < start) start = Number(dictOffset);
  return [start, start + Number(meta.total_compressed_size)];
}

/** Chunks closer than this are read with the bytes between them, in one request. */
const COALESCE_GAP = 1 << 20;

/**
 * Read byte ranges, neighbouring ones (gaps under COALESCE_GAP) as one request: a checkpoint's
 * dozens of small column chunks cost a read or two, not one each. Returns one view per range.
 */
async function readChunks(req: DecodeRequest, ranges: [number, number][]): Promise<Uint8Array[]> {
  const order = ranges.map((_, i) => i).sort((x, y) => ranges[x]![0] - ranges[y]![0]);
  const spans: { start: number; end: number; members: number[] }[] = [];
  for (const i of order) {
    const [start, end] = ranges[i]!;
    const last = spans[spans.length - 1];
    if (last && start - last.end <= COALESCE_GAP) {
      last.end = Math.max(last.end, end);
      last.members.push(i);
    } else spans.push({ start, end, members: [i] });
  }
  const out = new Array<Uint8Array>(ranges.length);
  await Promise.all(
    spans.map(async (span) => {
      const bytes = await req.read(span.start, span.end);
      if (bytes.length !== span.end - span.start)
        throw new Error(`short read of bytes ${span.start} to ${span.end}`);
      for (const i of span.members) {
        const [start, end] = ranges[i]!;
        out[i] = bytes.subarray(start - span.start, end - span.start);
      }
    }),
  );
  return out;
}

const PAGE_DATA = 0;
const PAGE_DICTIONARY = 2;
const PAGE_DATA_V2 = 3;
const ENC_PLAIN = 0;
const ENC_PLAIN_DICTIONARY = 2;
const ENC_RLE = 3;
const ENC_BIT_PACKED = 4;
const ENC_RLE_DICTIONARY = 8;

function decodeChunk(bytes: Uint8Array, meta: ColumnMetaData, leaf: LeafNode): LeafData {
  const total = Number(meta.num_values);
  const defs = new Uint8Array(total);
  const reps = leaf.maxRep > 0 ? new Uint8Array(total) : null;
  const values: unknown[] = [];
  let dictionary: unknown[] | null = null;
  let levels = 0;
  let pos = 0;
  while (levels < total) {
    if (pos >= bytes.length) throw new Error(`column ${meta.path_in_schema.join('.')}: chunk ends early`);
    const header = readPageHeader(bytes, pos);
    pos = header.end;
    const pageEnd = pos + header.compressedSize;
    if (pageEnd > bytes.length)
      throw new Error(`column ${meta.path_in_schema.join('.')}: page past chunk end`);
    if (header.type === PAGE_DICTIONARY) {
      const page = decompress(bytes.subarray(pos, pageEnd), meta.codec, header.uncompressedSize);
      if (header.encoding !== ENC_PLAIN && header.encoding !== ENC_PLAIN_DICTIONARY)
        throw new Error(`dictionary page encoding ${header.encoding} is not PLAIN`);
      dictionary = [];
      plainValues(page, 0, page.length, leaf.type, header.numValues, dictionary);
    } else if (header.type === PAGE_DATA || header.type === PAGE_DATA_V2) {
      const n = header.numValues;
      if (n < 0 || levels + n > total)
        throw new Error(
          `column ${meta.path_in_schema.join('.')}: pages hold more values than the chunk's ${total}`,
        );
      let page: Uint8Array;
      let p: number;
      const maxDef = leaf.def;
      if (header.type === PAGE_DATA) {
        page = decompress(bytes.subarray(pos, pageEnd), meta.codec, header.uncompressedSize);
        p = 0;
        if (reps) {
          if (header.repEncoding !== ENC_RLE) throw levelEncoding(header.repEncoding);
          const len = readU32(page, p);
          readHybrid(page, p + 4, p + 4 + len, bitWidth(leaf.maxRep), n, reps, levels);
          p += 4 + len;
        }
        if (maxDef > 0) {
          if (header.defEncoding !== ENC_RLE) throw levelEncoding(header.defEncoding);
          const len = readU32(page, p);
          readHybrid(page, p + 4, p + 4 + len, bitWidth(maxDef), n, defs, levels);
          p += 4 + len;
        }
      } else {
        const repLen = header.repLength;
        const defLen = header.defLength;
        const levelsEnd = pos + repLen + defLen;
        if (reps) readHybrid(bytes, pos, pos + repLen, bitWidth(leaf.maxRep), n, reps, levels);
        if (maxDef > 0) readHybrid(bytes, pos + repLen, levelsEnd, bitWidth(maxDef), n, defs, levels);
        const body = bytes.subarray(levelsEnd, pageEnd);
        page = header.compressed
          ? decompress(body, meta.codec, header.uncompressedSize - repLen - defLen)
          : body;
        p = 0;
      }
      if (maxDef === 0) defs.fill(0, levels, levels + n);
      let present = 0;
      for (let i = levels; i < levels + n; i++) if (defs[i] === maxDef) present++;
      const enc = header.encoding;
      if (enc === ENC_PLAIN) {
        plainValues(page, p, page.length, leaf.type, present, values);
      } else if (enc === ENC_RLE_DICTIONARY || enc === ENC_PLAIN_DICTIONARY) {
        if (!dictionary) throw new Error(`column ${meta.path_in_schema.join('.')}: dictionary page missing`);
        if (present > 0) {
          const width = page[p]!;
          const idx = new Uint32Array(present);
          readHybrid(page, p + 1, page.length, width, present, idx, 0);
          for (let i = 0; i < present; i++) {
            const v = dictionary[idx[i]!];
            if (v === undefined)
              throw new Error(`column ${meta.path_in_schema.join('.')}: dictionary index out of range`);
            values.push(v);
          }
        }
      } else if (enc === ENC_RLE && leaf.type === 'BOOLEAN') {
        const bits = new Uint8Array(present);
        readHybrid(page, p + 4, page.length, 1, present, bits, 0);
        for (let i = 0; i < present; i++) values.push(bits[i] === 1);
      } else {
        throw new Error(`page encoding ${enc} is not one its column chunk lists`);
      }
      levels += n;
    }
    // Index pages and unknown page types are skipped.
    pos = pageEnd;
  }
  return { defs, reps, values, rowStart: null, valueAt: null };
}

/** BIT_PACKED levels (deprecated, legal) are left to another decoder; any other value is corruption. */
function levelEncoding(encoding: number): Error {
  return encoding === ENC_BIT_PACKED
    ? new UnsupportedCheckpointLayout('BIT_PACKED levels')
    : new Error(`level encoding ${encoding} is not RLE or BIT_PACKED`);
}

function decompress(input: Uint8Array, codec: string, size: number): Uint8Array {
  if (codec === 'UNCOMPRESSED') return input;
  const fn = compressors[codec as keyof typeof compressors]!;
  const out = fn(input, size);
  if (out.length !== size) throw new Error(`${codec} page decompressed to ${out.length} bytes, not ${size}`);
  return out;
}

function bitWidth(max: number): number {
  return max === 0 ? 0 : 32 - Math.clz32(max);
}

function readU32(b: Uint8Array, p: number): number {
  if (p + 4 > b.length) throw new Error('truncated page');
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
}

/** RLE / bit-packed hybrid: `count` values into `out` from `at`. */
function readHybrid(
  b: Uint8Array,
  start: number,
  end: number,
  width: number,
  count: number,
  out: Uint8Array | Uint32Array,
  at: number,
): void {
  let p = start;
  let done = 0;
  const byteWidth = (width + 7) >> 3;
  while (done < count) {
    if (p >= end) throw new Error('RLE run past the end of its page');
    // varint header
    let header = 0;
    let shift = 0;
    for (;;) {
      const byte = b[p++]!;
      header += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) break;
      shift += 7;
      if (shift > 35) throw new Error('bad RLE header');
    }
    if (header % 2 === 0) {
      const run = Math.min(header / 2, count - done);
      let v = 0;
      for (let i = 0; i < byteWidth; i++) v += b[p + i]! * 2 ** (8 * i);
      p += byteWidth;
      out.fill(v, at + done, at + done + run);
      done += run;
    } else {
      const groups = (header - 1) / 2;
      const n = groups * 8;
      const take = Math.min(n, count - done);
      if (width === 0) {
        out.fill(0, at + done, at + done + take);
      } else {
        // LSB-first bit packing.
        let bitPos = p * 8;
        const mask = width >= 32 ? 0xffffffff : (1 << width) - 1;
        for (let i = 0; i < take; i++) {
          let v = 0;
          let got = 0;
          while (got < width) {
            const byteIdx = bitPos >> 3;
            const off = bitPos & 7;
            const avail = Math.min(8 - off, width - got);
            v |= ((b[byteIdx]! >> off) & ((1 << avail) - 1)) << got;
            got += avail;
            bitPos += avail;
          }
          out[at + done + i] = (v & mask) >>> 0;
        }
      }
      p += groups * width;
      done += take;
    }
  }
}

/** PLAIN values of one type: `count` of them from `b[start, end)` appended to `out`. */
function plainValues(
  b: Uint8Array,
  start: number,
  end: number,
  type: LeafType,
  count: number,
  out: unknown[],
): void {
  let p = start;
  switch (type) {
    case 'BYTE_ARRAY': {
      const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
      for (let i = 0; i < count; i++) {
        if (p + 4 > end) throw new Error('string value past the end of its page');
        const len = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
        p += 4;
        if (p + len > end) throw new Error('string value past the end of its page');
        out.push(buf.toString('utf8', p, p + len));
        p += len;
      }
      return;
    }
    case 'INT64': {
      if (p + 8 * count > end) throw new Error('int64 values past the end of their page');
      for (let i = 0; i < count; i++) {
        const lo = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
        const hi = b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24);
        out.push(hi * 0x100000000 + lo);
        p += 8;
      }
      return;
    }
    case 'INT32': {
      if (p + 4 * count > end) throw new Error('int32 values past the end of their page');
      for (let i = 0; i < count; i++) {
        out.push(b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24));
        p += 4;
      }
      return;
    }
    case 'BOOLEAN': {
      if (start + ((count + 7) >> 3) > end) throw new Error('booleans past the end of their page');
      for (let i = 0; i < count; i++) out.push(((b[start + (i >> 3)]! >> (i & 7)) & 1) === 1);
      return;
    }
  }
}

interface PageHeader {
  type: number;
  uncompressedSize: number;
  compressedSize: number;
  numValues: number;
  encoding: number;
  defEncoding: number;
  repEncoding: number;
  defLength: number;
  repLength: number;
  compressed: boolean;
  /** Offset just past the header. */
  end: number;
}

/** A Thrift compact-protocol PageHeader (parquet.thrift), keeping the fields the decoder uses. */
function readPageHeader(b: Uint8Array, start: number): PageHeader {
  const h: PageHeader = {
    type: -1,
    uncompressedSize: 0,
    compressedSize: 0,
    numValues: 0,
    encoding: 0,
    defEncoding: ENC_RLE,
    repEncoding: ENC_RLE,
    defLength: 0,
    repLength: 0,
    compressed: true,
    end: 0,
  };
  const r = { p: start };
  readStruct(b, r, (id, type) => {
    switch (id) {
      case 1:
        h.type = zigzag(varint(b, r));
        return true;
      case 2:
        h.uncompressedSize = zigzag(varint(b, r));
        return true;
      case 3:
        h.compressedSize = zigzag(varint(b, r));
        return true;
      case 5: // data_page_header
      case 7: // dictionary_page_header
      case 8: // data_page_header_v2
        if (type !== 12) return false;
        readStruct(
          b,
          r,
          (fid, ftype) => {
            if (ftype !== 5) return false; // every field we keep is an i32
            const v = zigzag(varint(b, r));
            if (id === 5) {
              if (fid === 1) h.numValues = v;
              else if (fid === 2) h.encoding = v;
              else if (fid === 3) h.defEncoding = v;
              else if (fid === 4) h.repEncoding = v;
            } else if (id === 7) {
              if (fid === 1) h.numValues = v;
              else if (fid === 2) h.encoding = v;
            } else {
              if (fid === 1) h.numValues = v;
              else if (fid === 4) h.encoding = v;
              else if (fid === 5) h.defLength = v;
              else if (fid === 6) h.repLength = v;
            }
            return true;
          },
          (fid, value) => {
            if (id === 8 && fid === 7) h.compressed = value;
          },
        );
        return true;
      default:
        return false;
    }
  });
  h.end = r.p;
  if (h.type < 0 || h.compressedSize < 0 || h.uncompressedSize < 0) throw new Error('bad page header');
  return h;
}

/**
 * Read a compact-protocol struct: `field` reads the field and returns true, or returns false to
 * have it skipped; `bool` receives boolean fields (their value is in the type nibble).
 */
function readStruct(
  b: Uint8Array,
  r: { p: number },
  field: (id: number, type: number) => boolean,
  bool?: (id: number, value: boolean) => void,
): void {
  let last = 0;
  for (;;) {
    if (r.p >= b.length) throw new Error('page header past the end of the chunk');
    const byte = b[r.p++]!;
    const type = byte & 0x0f;
    if (type === 0) return;
    const delta = byte >> 4;
    const id = delta === 0 ? zigzag(varint(b, r)) : last + delta;
    last = id;
    if (type === 1 || type === 2) {
      bool?.(id, type === 1);
      continue;
    }
    if (!field(id, type)) skip(b, r, type);
  }
}

function skip(b: Uint8Array, r: { p: number }, type: number): void {
  switch (type) {
    case 1:
    case 2:
      return;
    case 3:
      r.p++;
      return;
    case 4:
    case 5:
    case 6:
      varint(b, r);
      return;
    case 7:
      r.p += 8;
      return;
    case 8: {
      const len = varint(b, r);
      r.p += len;
      return;
    }
    case 9:
    case 10: {
      const head = b[r.p++]!;
      let size = head >> 4;
      if (size === 15) size = varint(b, r);
      const et = head & 0x0f;
      for (let i = 0; i < size; i++) {
        if (et === 1 || et === 2) r.p++;
        else skip(b, r, et);
      }
      return;
    }
    case 11: {
      const size = varint(b, r);
      if (size === 0) return;
      const kv = b[r.p++]!;
      for (let i = 0; i < size; i++) {
        skip(b, r, kv >> 4);
        skip(b, r, kv & 0x0f);
      }
      return;
    }
    case 12:
      readStruct(b, r, () => false);
      return;
    default:
      throw new Error(`bad thrift type ${type} in a page header`);
  }
}

function varint(b: Uint8Array, r: { p: number }): number {
  let v = 0;
  let shift = 0;
  for (;;) {
    if (r.p >= b.length) throw new Error('page header past the end of the chunk');
    const byte = b[r.p++]!;
    v += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return v;
    shift += 7;
    if (shift > 63) throw new Error('bad varint in a page header');
  }
}

function zigzag(n: number): number {
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}

// ---- assembly: leaf columns → action objects, by random access to each row ----

/** Index each leaf's levels: value index per entry and, under a map or list, each row's first entry. */
function index(leaf: LeafNode, d: LeafData, rows: number): void {
  const n = d.defs.length;
  const valueAt = new Int32Array(n);
  let v = 0;
  const full = leaf.def;
  for (let i = 0; i < n; i++) valueAt[i] = d.defs[i] === full ? v++ : -1;
  d.valueAt = valueAt;
  if (d.reps) {
    const starts = new Int32Array(rows + 1);
    let r = 0;
    for (let i = 0; i < n; i++) if (d.reps[i] === 0) starts[r++] = i;
    if (r !== rows) throw new Error(`a repeated column has ${r} rows, not ${rows}`);
    starts[rows] = n;
    d.rowStart = starts;
  } else if (n !== rows) {
    throw new Error(`a column has ${n} values, not ${rows}`);
  }
}

function assemble(top: Node, rows: number, data: Map<LeafNode, LeafData>): unknown[] {
  const leaves: LeafNode[] = [];
  leavesOf(top, leaves);
  for (const leaf of leaves) index(leaf, data.get(leaf)!, rows);
  const out = new Array<unknown>(rows);
  const build = builder(top, data);
  for (let i = 0; i < rows; i++) out[i] = build(i);
  return out;
}

/** The definition level of each row's first entry on one leaf under `node` (how deep the row is defined there). */
function rowDefs(node: Node, data: Map<LeafNode, LeafData>): (row: number) => number {
  const d = data.get(anyLeaf(node))!;
  const defs = d.defs;
  const starts = d.rowStart;
  return starts ? (row) => defs[starts[row]!]! : (row) => defs[row]!;
}

function anyLeaf(node: Node): LeafNode {
  switch (node.kind) {
    case 'leaf':
      return node;
    case 'map':
      return node.key;
    case 'list':
      return node.element;
    case 'struct': {
      // Prefer a leaf not under a map or list: one level per row.
      for (const ch of node.children) if (ch.kind === 'leaf') return ch;
      if (node.children.length === 0)
        throw new UnsupportedCheckpointLayout(`struct ${node.name} has no columns`);
      for (const ch of node.children) if (ch.kind === 'struct') return anyLeaf(ch);
      return anyLeaf(node.children[0]!);
    }
  }
}

/**
 * A function giving a node's value in a row (null where it is null), made once per row group so
 * the per-row work is array reads and object building, with no lookups.
 */
function builder(node: Node, data: Map<LeafNode, LeafData>): (row: number) => unknown {
  switch (node.kind) {
    case 'leaf': {
      const d = data.get(node)!;
      const valueAt = d.valueAt!;
      const values = d.values;
      return (row) => {
        const at = valueAt[row]!;
        return at < 0 ? null : values[at];
      };
    }
    case 'struct': {
      const def = node.def;
      const defs = rowDefs(node, data);
      const names = node.children.map((ch) => ch.name);
      const kids = node.children.map((ch) => builder(ch, data));
      const n = kids.length;
      return (row) => {
        if (defs(row) < def) return null;
        const o: Record<string, unknown> = {};
        for (let k = 0; k < n; k++) {
          const v = kids[k]!(row);
          if (v !== null && v !== undefined) o[names[k]!] = v;
        }
        return o;
      };
    }
    case 'map': {
      const k = data.get(node.key)!;
      const v = data.get(node.value)!;
      const starts = k.rowStart!;
      const { def, entryDef, name } = node;
      const keyAt = k.valueAt!;
      const valueAt = v.valueAt!;
      return (row) => {
        let i = starts[row]!;
        const end = starts[row + 1]!;
        const d = k.defs[i]!;
        if (d < def) return null;
        const o: Record<string, unknown> = {};
        if (d < entryDef) return o;
        for (; i < end; i++) {
          const ka = keyAt[i]!;
          if (ka < 0) throw new UnsupportedCheckpointLayout(`map ${name} has a null key`);
          const va = valueAt[i]!;
          o[k.values[ka] as string] = va < 0 ? null : v.values[va];
        }
        return o;
      };
    }
    case 'list': {
      const e = data.get(node.element)!;
      const starts = e.rowStart!;
      const valueAt = e.valueAt!;
      const { def, entryDef } = node;
      return (row) => {
        let i = starts[row]!;
        const end = starts[row + 1]!;
        const d = e.defs[i]!;
        if (d < def) return null;
        const items: unknown[] = [];
        if (d < entryDef) return items;
        for (; i < end; i++) {
          const a = valueAt[i]!;
          items.push(a < 0 ? null : e.values[a]);
        }
        return items;
      };
    }
  }
}
