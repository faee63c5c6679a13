/**
 * Evaluates the CRD's `x-kubernetes-validations` rules on documents, the way the Kubernetes API
 * server does, with a JavaScript CEL implementation plus the Kubernetes library functions the
 * rules use (`quantity`, `compareTo`; `split`, `lowerAscii`, `matches` and `duration` are
 * standard or built in). Integers in documents become CEL ints, as the API server types them.
 */
import { Environment } from '@marcbachmann/cel-js';

class Quantity {
  constructor(readonly value: number) {}
}

const QUANTITY_SUFFIX: Record<string, number> = {
  '': 1,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
  Pi: 1024 ** 5,
  Ei: 1024 ** 6,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

function parseQuantity(text: string): Quantity {
  const m = /^([+-]?[0-9.]+)([a-zA-Z]*)$/.exec(text);
  if (!m || QUANTITY_SUFFIX[m[2]!] === undefined)
    throw new Error(`quantities must match the regular expression: ${text}`);
  return new Quantity(Number(m[1]) * QUANTITY_SUFFIX[m[2]!]!);
}

export function kubernetesCelEnvironment(): Environment {
  return new Environment({ unlistedVariablesAreDyn: true })
    .registerType('Quantity', Quantity)
    .registerFunction('quantity(string): Quantity', parseQuantity)
    .registerFunction({
      name: 'compareTo',
      receiverType: 'Quantity',
      returnType: 'int',
      params: [{ name: 'other', type: 'Quantity' }],
      handler: (a: Quantity, b: Quantity) => BigInt(Math.sign(a.value - b.value)),
    });
}

/** JSON numbers that are whole become CEL ints (BigInt); others stay doubles. */
export function toCelValue(v: unknown): unknown {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(toCelValue);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toCelValue(x)]));
  }
  return v;
}

type Schema = { [k: string]: any };

export interface CelFailure {
  /** Where the rule sits, e.g. `spec` or `spec.properties`. */
  readonly at: string;
  readonly rule: string;
  readonly message: string;
  /** Set when evaluation raised an error instead of returning false. */
  readonly error?: string;
}

/**
 * Every `x-kubernetes-validations` rule of `schema` evaluated where `doc` has a value, as the API
 * server does; returns the rules that failed.
 */
export function evaluateCelRules(env: Environment, schema: Schema, doc: unknown, at = ''): CelFailure[] {
  if (doc === undefined || doc === null) return [];
  const out: CelFailure[] = [];
  for (const v of (schema['x-kubernetes-validations'] ?? []) as { rule: string; message: string }[]) {
    try {
      const ok = env.evaluate(v.rule, { self: toCelValue(doc) });
      if (ok !== true) out.push({ at, rule: v.rule, message: v.message });
    } catch (err) {
      out.push({ at, rule: v.rule, message: v.message, error: (err as Error).message });
    }
  }
  if (schema.properties && typeof doc === 'object') {
    for (const [k, sub] of Object.entries(schema.properties as Record<string, Schema>)) {
      out.push(...evaluateCelRules(env, sub, (doc as Record<string, unknown>)[k], at ? `${at}.${k}` : k));
    }
  }
  if (schema.items && Array.isArray(doc)) {
    doc.forEach((x, i) => out.push(...evaluateCelRules(env, schema.items, x, `${at}[${i}]`)));
  }
  if (typeof schema.additionalProperties === 'object' && typeof doc === 'object') {
    for (const [k, x] of Object.entries(doc as object)) {
      out.push(...evaluateCelRules(env, schema.additionalProperties, x, `${at}[${JSON.stringify(k)}]`));
    }
  }
  return out;
}

/** Every CEL rule in the schema with where it sits. */
export function listCelRules(schema: Schema, at = ''): { at: string; rule: string; message: string }[] {
  const out = ((schema['x-kubernetes-validations'] ?? []) as { rule: string; message: string }[]).map(
    (v) => ({ at, ...v }),
  );
  for (const [k, sub] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) {
    out.push(...listCelRules(sub, at ? `${at}.${k}` : k));
  }
  if (schema.items) out.push(...listCelRules(schema.items, `${at}[]`));
  if (typeof schema.additionalProperties === 'object')
    out.push(...listCelRules(schema.additionalProperties, `${at}[*]`));
  return out;
}
