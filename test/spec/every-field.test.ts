/**
 * Every field of the spec, found by walking the generated schema, refuses a value of the wrong
 * kind at its own path: a new field cannot be added without validation.
 */
import { lakeTableOpenApiSchema, validateLakeTable } from '../../lib/spec/index.js';
import { baseDoc } from './fixtures.js';

type Node = { [k: string]: any };

/** [path segments under the document, schema of the leaf]. */
function leaves(node: Node, at: (string | number)[]): [(string | number)[], Node][] {
  if (node.type === 'object' && node.properties) {
    return Object.entries(node.properties as Record<string, Node>).flatMap(([k, sub]) =>
      leaves(sub, [...at, k]),
    );
  }
  if (node.type === 'array' && node.items?.type === 'object') return leaves(node.items, [...at, 0]);
  return [[at, node]];
}

function setAt(doc: Node, at: (string | number)[], value: unknown): void {
  let cur = doc;
  at.slice(0, -1).forEach((k, i) => {
    if (cur[k] === undefined) cur[k] = typeof at[i + 1] === 'number' ? [] : {};
    cur = cur[k];
  });
  cur[at[at.length - 1]!] = value;
}

/** A value of the wrong kind for a leaf, and the message expected. */
function wrongValue(leaf: Node): [unknown, RegExp] {
  switch (leaf.type) {
    case 'boolean':
      return ['yes', /must be a boolean/];
    case 'integer':
      return [1.5, /must be a whole number/];
    case 'number':
      return ['0.5', /must be a number/];
    case 'array':
      return ['x', /must be a list, got string/];
    case 'object':
      return ['x', /must be a mapping \(key: value\), got string/];
    default:
      return leaf.enum ? ['not-an-option', /must be/] : [42, /must be/];
  }
}

const spec = (lakeTableOpenApiSchema().properties as Node).spec as Node;
const specLeaves = leaves(spec, ['spec']);

describe('every spec field refuses a value of the wrong kind at its path', () => {
  test('the walk finds the fields', () => {
    expect(specLeaves.length).toBeGreaterThan(30);
  });

  test.each(specLeaves.map(([at, leaf]) => [at.join('.'), at, leaf] as const))('%s', (_name, at, leaf) => {
    const doc = baseDoc();
    const [value, message] = wrongValue(leaf);
    setAt(doc, at, value);
    const r = validateLakeTable(doc, 't');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const want = at
      .map((p, i) =>
        typeof p === 'number'
          ? `[${p}]`
          : i === 0
            ? p
            : /^[A-Za-z_]\w*$/.test(p)
              ? `.${p}`
              : `[${JSON.stringify(p)}]`,
      )
      .join('');
    const issue = r.issues.find((i) => i.path === want);
    if (!issue) throw new Error(`no issue at ${want}: ${JSON.stringify(r.issues)}`);
    expect(issue.message).toMatch(message);
  });
});
