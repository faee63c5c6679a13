import { existsSync, readdirSync, statSync } from 'node:fs';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { isLakehouseError } from '../../lib/errors.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import {
  Snapshot,
  availableVersions,
  dataFilePath,
  parseLogPath,
  parseSchema,
  readDeletionVector,
  writeCheckpoint,
  type StructType,
} from '../../lib/delta/index.js';
import { runPeer, type PeerRequest, type PeerResult } from './peer-batch.js';

/**
 * Every table in ../shared/delta-golden (written by Spark and delta-rs) loads at every version it
 * has, and its version, active files and schema equal what delta-rs reports; where delta-rs
 * cannot read a table, Spark is the reference. Tables that no engine reads must fail with a
 * clear, coded error; tables we refuse on purpose must name the feature.
 */
const GOLDEN = path.resolve('../shared/delta-golden');

function findTables(dir: string, out: string[] = []): string[] {
  if (existsSync(path.join(dir, '_delta_log'))) {
    out.push(dir);
    return out;
  }
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (!e.startsWith('.') && !e.startsWith('_') && statSync(p).isDirectory()) findTables(p, out);
  }
  return out;
}

interface Outcome {
  ok: boolean;
  version?: number;
  files?: string[];
  schema?: StructType;
  code?: string;
  message?: string;
}

async function ours(table: string, version?: number): Promise<Outcome> {
  try {
    const s = await Snapshot.load(new LocalObjectStore(table), { version });
    const files = s
      .activeFiles()
      .map((a) => dataFilePath(a.path))
      .sort();
    return { ok: true, version: s.version, files, schema: s.schema };
  } catch (err) {
    if (!isLakehouseError(err)) throw err;
    return { ok: false, code: err.code, message: err.message };
  }
}

/** A schema with only what both engines spell the same way: names, types, nullability. */
function shape(t: unknown): unknown {
  if (typeof t === 'string') return t.replace(/\s+/g, '');
  const o = t as Record<string, unknown>;
  if (o.type === 'struct') {
    return (o.fields as Record<string, unknown>[]).map((f) => [f.name, shape(f.type), f.nullable !== false]);
  }
  if (o.type === 'array') return ['array', shape(o.elementType), o.containsNull !== false];
  if (o.type === 'map') return ['map', shape(o.keyType), shape(o.valueType), o.valueContainsNull !== false];
  return o.type;
}

const tables = existsSync(GOLDEN) ? findTables(GOLDEN).sort() : [];
const rel = (t: string) => path.relative(GOLDEN, t);

if (tables.length === 0) {
  test('golden tables: NOT RUN', () => {
    const banner = '!'.repeat(100);
    console.warn(
      `${banner}\n!!! The golden-table suite was NOT run: ${GOLDEN} does not exist.\n` +
        `!!! It needs the shared fixture folder next to the project (../shared/delta-golden).\n${banner}`,
    );
  });
} else {
  describe('golden tables match delta-rs (or Spark where delta-rs cannot read them)', () => {
    const versions = new Map<string, number[]>();
    const mine = new Map<string, Outcome>();
    const peer = new Map<string, PeerResult & { engine?: string }>();
    const schemas = new Map<string, PeerResult>();
    const key = (t: string, v: number | undefined) => `${t}@${v ?? 'latest'}`;

    beforeAll(async () => {
      const requests: PeerRequest[] = [];
      const reqKeys: string[] = [];
      for (const t of tables) {
        const range = await availableVersions(new LocalObjectStore(t)).catch(() => null);
        const vs = range
          ? Array.from({ length: range.latest - range.earliest + 1 }, (_, i) => range.earliest + i)
          : [];
        versions.set(t, vs);
        mine.set(key(t, undefined), await ours(t));
        requests.push({ op: 'files', table: t });
        reqKeys.push(key(t, undefined));
        for (const v of vs) {
          mine.set(key(t, v), await ours(t, v));
          requests.push({ op: 'files', table: t, version: v });
          reqKeys.push(key(t, v));
        }
      }
      const drs = await runPeer('delta-rs', requests);
      const retry: PeerRequest[] = [];
      const retryKeys: string[] = [];
      drs.forEach((r, i) => {
        peer.set(reqKeys[i], { ...r, engine: 'delta-rs' });
        if (!r.ok) {
          retry.push(requests[i]);
          retryKeys.push(reqKeys[i]);
        }
      });
      const spark = await runPeer('spark', retry, 900_000);
      spark.forEach((r, i) => {
        peer.set(retryKeys[i], { ...r, engine: 'spark' });
      });
      // Schemas: delta-rs's view of the latest version of each table we both read. The peer
      // returns the whole table schema; reading one column keeps the data it scans small.
      const readable = tables.filter((t) => {
        const a = mine.get(key(t, undefined))!;
        return a.ok && a.schema!.fields.length > 0 && peer.get(key(t, undefined))!.engine === 'delta-rs';
      });
      const reads = readable.map((t) => ({
        op: 'read' as const,
        table: t,
        columns: [mine.get(key(t, undefined))!.schema!.fields[0].name],
      }));
      const readResults = await runPeer('delta-rs', reads);
      readResults.forEach((r, i) => schemas.set(readable[i], r));
    }, 1_800_000);

    test.each(tables.map((t) => [rel(t), t]))('%s', (_name, table) => {
      const problems: string[] = [];
      const head = mine.get(key(table, undefined))!;
      const latestOk = head.ok;
      const latestCode = head.code;
      for (const v of [undefined, ...(versions.get(table) ?? [])]) {
        const k = key(table, v);
        const a = mine.get(k)!;
        const b = peer.get(k)!;
        const label = `version ${v ?? 'latest'}`;
        if (a.ok && b.ok) {
          if (a.version !== b.version)
            problems.push(`${label}: version ${a.version} vs ${b.engine} ${b.version}`);
          const pf = (b.files as string[]).map((f) =>
            f.startsWith('file:') ? f.replace(/^file:\/*/, '/') : f,
          );
          if (JSON.stringify(a.files) !== JSON.stringify(pf)) {
            problems.push(`${label}: files ${JSON.stringify(a.files)} vs ${b.engine} ${JSON.stringify(pf)}`);
          }
        } else if (a.ok && !b.ok && /DELTA_READ_TABLE_WITHOUT_COLUMNS/.test(b.error)) {
          // Spark replayed the log but will not scan a table without columns: so must our schema be empty.
          if (a.schema!.fields.length !== 0)
            problems.push(`${label}: Spark sees no columns, we see ${a.schema!.fields.length}`);
        } else if (a.ok && !b.ok && v !== undefined && !latestOk && latestCode === 'CORRUPT_LOG') {
          // The head of the log is broken (we fail there too, with CORRUPT_LOG). delta-rs and Spark
          // build the latest snapshot before time travelling, so they fail at every version; we read
          // the intact older versions from their own commits, which the protocol allows.
        } else if (a.ok && !b.ok) {
          problems.push(
            `${label}: we read it (v${a.version}) but delta-rs and Spark both fail: ${b.error.slice(0, 300)}`,
          );
        } else if (!a.ok && b.ok) {
          // Only a deliberate refusal is acceptable, and it must name the feature.
          if (a.code !== 'UNSUPPORTED_READER_FEATURE' || !/"[A-Za-z-]+"|version \d+/.test(a.message ?? '')) {
            problems.push(`${label}: we fail (${a.code}: ${a.message}) but ${b.engine} reads it`);
          }
        } else {
          // Nobody reads it: our error must be coded and say what is wrong.
          const allowed = [
            'CORRUPT_LOG',
            'NOT_A_TABLE',
            'UNSUPPORTED_READER_FEATURE',
            'INVALID_PROTOCOL',
            'VERSION_NOT_FOUND',
          ];
          if (!allowed.includes(a.code!) || !a.message?.startsWith('delta: ')) {
            problems.push(`${label}: unclear failure ${a.code}: ${a.message}`);
          }
        }
      }
      const latest = mine.get(key(table, undefined))!;
      const read = schemas.get(table);
      if (latest.ok && read?.ok && typeof read.schema === 'string') {
        const theirs = shape(parseSchema(read.schema));
        if (JSON.stringify(shape(latest.schema)) !== JSON.stringify(theirs)) {
          problems.push(
            `schema ${JSON.stringify(shape(latest.schema))} vs delta-rs ${JSON.stringify(theirs)}`,
          );
        }
      }
      expect(problems).toEqual([]);
    });

    test('delta-rs reads our checkpoint of every table it reads, with the earlier commits deleted', async () => {
      const cases: { table: string; copy: string; version: number; files: string[] }[] = [];
      for (const t of tables) {
        const k = key(t, undefined);
        const p = peer.get(k)!;
        if (!mine.get(k)!.ok || !p.ok || p.engine !== 'delta-rs') continue;
        const copy = await mkdtemp(path.join(tmpdir(), 'lk-golden-cp-'));
        await cp(path.join(t, '_delta_log'), path.join(copy, '_delta_log'), { recursive: true });
        const store = new LocalObjectStore(copy);
        const snap = await Snapshot.load(store);
        await writeCheckpoint(store, snap);
        for (const name of await readdir(path.join(copy, '_delta_log'))) {
          const f = parseLogPath(`_delta_log/${name}`);
          if (f && f.version < snap.version) await rm(path.join(copy, '_delta_log', name), { force: true });
        }
        const again = await Snapshot.load(store);
        expect({
          table: rel(t),
          files: again
            .activeFiles()
            .map((a) => dataFilePath(a.path))
            .sort(),
        }).toEqual({
          table: rel(t),
          files: mine.get(k)!.files,
        });
        cases.push({ table: t, copy, version: snap.version, files: mine.get(k)!.files! });
      }
      const results = await runPeer(
        'delta-rs',
        cases.map((c) => ({ op: 'files', table: c.copy })),
      );
      const problems: string[] = [];
      cases.forEach((c, i) => {
        const r = results[i];
        if (!r.ok)
          problems.push(`${rel(c.table)}: delta-rs fails on our checkpoint: ${r.error.slice(0, 300)}`);
        else {
          const files = (r.files as string[]).map((f) =>
            f.startsWith('file:') ? f.replace(/^file:\/*/, '/') : f,
          );
          if (r.version !== c.version || JSON.stringify(files) !== JSON.stringify(c.files)) {
            problems.push(
              `${rel(c.table)}: delta-rs sees v${r.version} ${JSON.stringify(files)}, we wrote v${c.version} ${JSON.stringify(c.files)}`,
            );
          }
        }
      });
      for (const c of cases) await rm(c.copy, { recursive: true, force: true });
      expect(problems).toEqual([]);
      expect(cases.length).toBeGreaterThan(100);
    }, 600_000);

    test('every deletion vector of every readable table decodes to its cardinality', async () => {
      let checked = 0;
      for (const t of tables) {
        if (!mine.get(key(t, undefined))!.ok) continue;
        const snap = await Snapshot.load(new LocalObjectStore(t));
        for (const a of snap.activeFiles()) {
          if (!a.deletionVector) continue;
          const rows = await readDeletionVector(snap.store, a.deletionVector);
          expect(rows.size).toBe(a.deletionVector.cardinality);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(0);
    });
  });
}
