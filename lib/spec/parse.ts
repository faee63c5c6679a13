/**
 * Validating one LakeTable document. Every problem is reported as a SpecIssue: the document, the
 * field path (`spec.schema.columns[2].type`) and a message that says what to do.
 */
import type { z } from 'zod';
import { LakehouseError } from '../errors.js';
import { LakeTableSchema, type LakeTable } from './schema.js';

/** One problem in one document. */
export interface SpecIssue {
  /** The document: file (and its position in a multi-document file) and the LakeTable's name when known. */
  readonly document: string;
  /** The field, e.g. `spec.partitionBy[0]` or `spec.properties["delta.appendOnly"]`; empty for the whole document. */
  readonly path: string;
  /** What is wrong and what to do. */
  readonly message: string;
}

/** INVALID_SPEC carrying every issue found; the message lists them one per line. */
export class LakeTableSpecError extends LakehouseError {
  readonly issues: readonly SpecIssue[];
  constructor(issues: readonly SpecIssue[]) {
    super('INVALID_SPEC', issues.map(formatIssue).join('\n'));
    this.name = 'LakeTableSpecError';
    this.issues = issues;
  }
}

/** `document: path: message`, the line `lakehouse validate` prints. */
export function formatIssue(issue: SpecIssue): string {
  return `${issue.document}: ${issue.path ? `${issue.path}: ` : ''}${issue.message}`;
}

export type ValidationResult =
  | { readonly ok: true; readonly table: LakeTable; readonly document: string }
  | {
      readonly ok: false;
      readonly issues: readonly SpecIssue[];
      readonly document: string;
      /** metadata.name when the document has one. */
      readonly name?: string;
    };

/**
 * Validate a document (already parsed from YAML or JSON). `source` names where it came from
 * (a file, `file.yaml document 2`, `kubernetes default/orders`); the LakeTable's name is added
 * when the document has one. Never throws.
 */
export function validateLakeTable(doc: unknown, source: string): ValidationResult {
  const document = documentLabel(doc, source);
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    return {
      ok: false,
      document,
      issues: [
        {
          document,
          path: '',
          message: 'not a LakeTable: expected a mapping with apiVersion, kind, metadata and spec',
        },
      ],
    };
  }
  const result = LakeTableSchema.safeParse(doc);
  if (result.success) return { ok: true, table: result.data, document };
  const name = nameOf(doc);
  return {
    ok: false,
    document,
    ...(name !== undefined ? { name } : {}),
    issues: result.error.issues.flatMap((i) => toSpecIssues(i, document)),
  };
}

/**
 * Validate a document and return it typed. Throws LakeTableSpecError (a LakehouseError with code
 * INVALID_SPEC) listing every issue with the document name, field path and what to do.
 */
export function parseLakeTable(doc: unknown, source: string): LakeTable {
  const r = validateLakeTable(doc, source);
  if (!r.ok) throw new LakeTableSpecError(r.issues);
  return r.table;
}

function nameOf(doc: unknown): string | undefined {
  const name = (doc as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

function documentLabel(doc: unknown, source: string): string {
  const name = nameOf(doc);
  return name !== undefined ? `${source} (LakeTable "${name}")` : source;
}

/** `spec.properties["delta.appendOnly"]`, `spec.schema.columns[2].type`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (typeof p === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out;
}

/** Zod's own wording, which we replace with what-to-do messages. */
const GENERIC =
  /^(Invalid input|Invalid option|Invalid string|Invalid number|Too small|Too big|Unrecognized key|Invalid key|Invalid element|Invalid value)/;

function toSpecIssues(issue: z.core.$ZodIssue, document: string): SpecIssue[] {
  const path = formatPath(issue.path);
  const at = (p: string, message: string): SpecIssue => ({ document, path: p, message });
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) =>
      at(
        formatPath([...issue.path, k]),
        'unknown field: remove it or fix its spelling (see "LakeTable definitions" in the README)',
      ),
    );
  }
  if (issue.code === 'invalid_key' || issue.code === 'invalid_element') {
    return issue.issues.flatMap((inner) =>
      toSpecIssues({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue, document),
    );
  }
  if (issue.code === 'custom' || !GENERIC.test(issue.message)) return [at(path, issue.message)];
  switch (issue.code) {
    case 'invalid_type':
      return [
        at(
          path,
          /received undefined/.test(issue.message)
            ? `required: add ${path ? `"${String(issue.path[issue.path.length - 1])}"` : 'it'} (${article(issue.expected)})`
            : `must be ${article(issue.expected)}, got ${/received (\w+)/.exec(issue.message)?.[1] ?? 'something else'}`,
        ),
      ];
    case 'invalid_value':
      return [
        at(
          path,
          `must be ${issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`}`,
        ),
      ];
    case 'too_small':
      return [
        at(
          path,
          `${boundNoun(issue.origin)} at least ${String(issue.minimum)}${unit(issue.origin, issue.minimum)}`,
        ),
      ];
    case 'too_big':
      return [
        at(
          path,
          `${boundNoun(issue.origin)} at most ${String(issue.maximum)}${unit(issue.origin, issue.maximum)}`,
        ),
      ];
    default:
      return [at(path, issue.message)];
  }
}

/** Zod's type names in YAML words: `record`/`object` are mappings, `array` a list. */
const TYPE_WORDS: Readonly<Record<string, string>> = {
  record: 'a mapping (key: value)',
  object: 'a mapping (key: value)',
  array: 'a list',
  int: 'a whole number',
};

function article(t: string): string {
  return TYPE_WORDS[t] ?? (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);
}
function boundNoun(origin: string): string {
  return origin === 'array' || origin === 'set' ? 'must have' : origin === 'string' ? 'must have' : 'must be';
}
function unit(origin: string, n: unknown): string {
  if (origin === 'array' || origin === 'set') return Number(n) === 1 ? ' entry' : ' entries';
  if (origin === 'string') return Number(n) === 1 ? ' character' : ' characters';
  return '';
}
