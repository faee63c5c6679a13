/**
 * Reading LakeTable documents from files and folders: YAML (several documents per file allowed,
 * separated by `---`) or JSON, `.yaml`/`.yml`/`.json`, folders searched recursively in path order.
 * Files are read one at a time, so memory follows the largest file, not the folder.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { LakehouseError } from '../errors.js';
import { LAKETABLE_DEFAULTS } from './defaults.js';
import { LakeTableSpecError, validateLakeTable, type SpecIssue, type ValidationResult } from './parse.js';
import type { LakeTable } from './schema.js';

export const SPEC_FILE_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;

/**
 * The definition files under the given paths: a folder is searched recursively for
 * `.yaml`/`.yml`/`.json` files (hidden entries and `node_modules` skipped); a file named
 * explicitly is taken whatever its extension. Sorted by path within each folder. Throws
 * INVALID_ARGUMENT when a path does not exist.
 */
export async function listSpecFiles(dirOrFiles: string | readonly string[]): Promise<string[]> {
  const roots = typeof dirOrFiles === 'string' ? [dirOrFiles] : [...dirOrFiles];
  const out: string[] = [];
  for (const root of roots) {
    let st;
    try {
      st = await fs.stat(root);
    } catch {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `${root}: no such file or folder; give a LakeTable file or a folder of them`,
      );
    }
    if (st.isDirectory()) await walk(root, out);
    else out.push(root);
  }
  return out;
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const e of entries) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile() && SPEC_FILE_EXTENSIONS.some((x) => e.name.endsWith(x))) out.push(p);
  }
}

/** One document of one file, validated. */
export type LoadedDocument = ValidationResult & {
  readonly file: string;
  /** 1-based position in the file. */
  readonly index: number;
};

/**
 * Every document under the given paths, validated, one at a time. Syntax errors are reported as
 * issues of their document (with the line), so one bad file never hides the others. Empty
 * documents (a trailing `---`) are skipped.
 */
export async function* readLakeTableDocuments(
  dirOrFiles: string | readonly string[],
): AsyncGenerator<LoadedDocument> {
  for (const file of await listSpecFiles(dirOrFiles)) {
    const text = await fs.readFile(file, 'utf8');
    const docs = parseAllDocuments(text, { prettyErrors: true });
    // parseAllDocuments returns an EmptyStream (no documents) for an empty file.
    const entries: ({ value: unknown } | { errors: string[] })[] = [];
    for (const doc of Array.isArray(docs) ? docs : []) {
      if (doc.errors.length > 0) {
        entries.push({ errors: doc.errors.map((e) => e.message.split('\n')[0]!) });
        continue;
      }
      try {
        // The alias limit refuses "billion laughs" documents that would expand without bound.
        const value: unknown = doc.toJS({ maxAliasCount: 100 });
        if (value !== null && value !== undefined) entries.push({ value });
      } catch (err) {
        entries.push({ errors: [(err as Error).message] });
      }
    }
    let index = 0;
    for (const entry of entries) {
      index++;
      const source = entries.length > 1 ? `${file} document ${index}` : file;
      if ('errors' in entry) {
        const issues: SpecIssue[] = entry.errors.map((message) => ({
          document: source,
          path: '',
          message: `not valid YAML: ${message}; fix the syntax`,
        }));
        yield { ok: false, issues, document: source, file, index };
      } else {
        yield { ...validateLakeTable(entry.value, source), file, index };
      }
    }
  }
}

/**
 * Load and validate every LakeTable under the given paths. Throws LakeTableSpecError
 * (INVALID_SPEC) listing the issues of every invalid document, and of names or locations declared
 * twice; returns the tables in path order when all are valid. INVALID_ARGUMENT when a path is missing.
 */
export async function loadLakeTables(dirOrFiles: string | readonly string[]): Promise<LakeTable[]> {
  const tables: LakeTable[] = [];
  const issues: SpecIssue[] = [];
  const registry = new DefinitionRegistry();
  for await (const d of readLakeTableDocuments(dirOrFiles)) {
    if (!d.ok) {
      issues.push(...d.issues);
      continue;
    }
    const clash = registry.add(d.table, d.document);
    if (clash.length > 0) issues.push(...clash);
    else tables.push(d.table);
  }
  if (issues.length > 0) throw new LakeTableSpecError(issues);
  return tables;
}

/**
 * Remembers the names and places of the definitions seen so far, to refuse a second definition
 * of the same LakeTable (namespace and name) or of the same table (location, or storage, zone
 * and path): two definitions would fight over one table.
 */
export class DefinitionRegistry {
  private readonly names = new Map<string, string>();
  private readonly places = new Map<string, string>();

  /** Issues when `table` clashes with an earlier definition (then it is not remembered). */
  add(table: LakeTable, document: string): SpecIssue[] {
    const name = `${table.metadata.namespace ?? ''}/${table.metadata.name}`;
    const s = table.spec;
    const place =
      s.location !== undefined
        ? `location ${s.location.replace(/\/+$/, '')}`
        : `${s.storage ?? LAKETABLE_DEFAULTS.storage}/${s.zone}/${s.path}`;
    const sameName = this.names.get(name);
    if (sameName !== undefined) {
      return [
        {
          document,
          path: 'metadata.name',
          message: `"${table.metadata.name}" is already defined by ${sameName}; give each LakeTable its own name`,
        },
      ];
    }
    const samePlace = this.places.get(place);
    if (samePlace !== undefined) {
      return [
        {
          document,
          path: s.location !== undefined ? 'spec.location' : 'spec.path',
          message: `the same table as ${samePlace}; define each table once: remove one, or change its location`,
        },
      ];
    }
    this.names.set(name, document);
    this.places.set(place, document);
    return [];
  }
}
