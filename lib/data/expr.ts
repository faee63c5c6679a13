/**
 * The filter language of the CLI (`--filter`, `--where`, `--replace-where`): a small SQL-like
 * boolean expression over columns.
 *
 * Grammar (keywords case-insensitive):
 * ```
 * expr     := or
 * or       := and ("OR" and)*
 * and      := not ("AND" not)*
 * not      := "NOT" not | "(" expr ")" | predicate
 * predicate:= operand ("=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=") operand
 *           | column ["NOT"] "IN" "(" literal ("," literal)* ")"
 *           | column "IS" ["NOT"] "NULL"
 *           | column                      -- a boolean column
 * operand  := column | literal            -- one side of a comparison must be a column
 * column   := identifier ("." identifier)* | `back-quoted name`
 * literal  := number | 'string' ('' escapes a quote) | TRUE | FALSE | NULL
 *           | DATE 'YYYY-MM-DD' | TIMESTAMP '...'
 * ```
 * Semantics are SQL's three-valued logic: a comparison with a null is unknown, and a row is kept
 * only when the whole expression is true. Literals are converted to the column's type (dates and
 * timestamps are written as strings).
 */
import { LakehouseError } from '../errors.js';

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type Literal =
  | { kind: 'number'; text: string }
  | { kind: 'string'; value: string }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' };

export type Expr =
  | { kind: 'and' | 'or'; left: Expr; right: Expr }
  | { kind: 'not'; expr: Expr }
  | { kind: 'compare'; op: CompareOp; column: string[]; value: Literal }
  | { kind: 'in'; column: string[]; values: Literal[] }
  | { kind: 'isNull'; column: string[] }
  | { kind: 'column'; column: string[] }
  | { kind: 'literal'; value: Literal };

type Token =
  | { t: 'ident'; v: string; quoted: boolean; pos: number }
  | { t: 'string'; v: string; pos: number }
  | { t: 'number'; v: string; pos: number }
  | { t: 'op'; v: string; pos: number }
  | { t: 'end'; pos: number };

function syntax(text: string, pos: number, what: string): never {
  throw new LakehouseError('INVALID_ARGUMENT', `filter: ${what} at position ${pos + 1} in "${text}"`);
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === "'") {
      let v = '';
      i++;
      for (;;) {
        if (i >= text.length) syntax(text, start, 'unterminated string');
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            v += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += text[i++];
      }
      out.push({ t: 'string', v, pos: start });
    } else if (c === '`' || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) syntax(text, start, 'unterminated quoted name');
      out.push({ t: 'ident', v: text.slice(i + 1, end), quoted: true, pos: start });
      i = end + 1;
    } else if (
      /[0-9]/.test(c) ||
      // A minus sign starts a number only before a digit or `.digit` (`-.` alone is an operator error).
      (c === '-' && /^-(\d|\.\d)/.test(text.slice(i, i + 3)) && !prevIsOperand(out)) ||
      (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))
    ) {
      const m = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(text.slice(i))!;
      out.push({ t: 'number', v: m[0], pos: start });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))!;
      out.push({ t: 'ident', v: m[0], quoted: false, pos: start });
      i += m[0].length;
    } else {
      const two = text.slice(i, i + 2);
      if (['<=', '>=', '!=', '<>', '=='].includes(two)) {
        out.push({ t: 'op', v: two === '<>' ? '!=' : two === '==' ? '=' : two, pos: start });
        i += 2;
      } else if ('=<>(),.'.includes(c)) {
        out.push({ t: 'op', v: c, pos: start });
        i++;
      } else {
        syntax(text, start, `unexpected character "${c}"`);
      }
    }
  }
  out.push({ t: 'end', pos: text.length });
  return out;
}

function prevIsOperand(tokens: Token[]): boolean {
  const p = tokens[tokens.length - 1];
  return !!p && (p.t === 'ident' || p.t === 'number' || p.t === 'string' || (p.t === 'op' && p.v === ')'));
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'null', 'true', 'false']);

/** Parse a filter expression; throws INVALID_ARGUMENT with the position of the first error. */
export function parseFilter(text: string): Expr {
  const tokens = tokenize(text);
  let k = 0;
  const peek = (): Token => tokens[k]!;
  const isKw = (tok: Token, kw: string): boolean =>
    tok.t === 'ident' && !tok.quoted && tok.v.toLowerCase() === kw;
  const isOp = (tok: Token, op: string): boolean => tok.t === 'op' && tok.v === op;
  const expectOp = (op: string): void => {
    if (!isOp(peek(), op)) syntax(text, peek().pos, `expected "${op}"`);
    k++;
  };

  const parseLiteral = (): Literal | undefined => {
    const tok = peek();
    if (tok.t === 'number') {
      k++;
      return { kind: 'number', text: tok.v };
    }
    if (tok.t === 'string') {
      k++;
      return { kind: 'string', value: tok.v };
    }
    if (tok.t === 'ident' && !tok.quoted) {
      const kw = tok.v.toLowerCase();
      if (kw === 'true' || kw === 'false') {
        k++;
        return { kind: 'boolean', value: kw === 'true' };
      }
      if (kw === 'null') {
        k++;
        return { kind: 'null' };
      }
      if ((kw === 'date' || kw === 'timestamp' || kw === 'timestamp_ntz') && tokens[k + 1]?.t === 'string') {
        k += 2;
        return { kind: 'string', value: (tokens[k - 1] as { v: string }).v };
      }
    }
    return undefined;
  };

  const parseColumn = (): string[] | undefined => {
    const tok = peek();
    if (tok.t !== 'ident' || (!tok.quoted && KEYWORDS.has(tok.v.toLowerCase()))) return undefined;
    // DATE '2026-01-01' is a literal; a column named date is not followed by a string.
    if (!tok.quoted && /^(date|timestamp|timestamp_ntz)$/i.test(tok.v) && tokens[k + 1]?.t === 'string')
      return undefined;
    const parts = [tok.v];
    k++;
    while (isOp(peek(), '.') && tokens[k + 1]?.t === 'ident') {
      parts.push((tokens[k + 1] as { v: string }).v);
      k += 2;
    }
    return parts;
  };

  const parsePredicate = (): Expr => {
    const startTok = peek();
    const column = parseColumn();
    if (column) {
      if (isKw(peek(), 'is')) {
        k++;
        const negated = isKw(peek(), 'not');
        if (negated) k++;
        if (!isKw(peek(), 'null')) syntax(text, peek().pos, 'expected NULL after IS');
        k++;
        const e: Expr = { kind: 'isNull', column };
        return negated ? { kind: 'not', expr: e } : e;
      }
      let negatedIn = false;
      if (isKw(peek(), 'not') && isKw(tokens[k + 1]!, 'in')) {
        negatedIn = true;
        k++;
      }
      if (isKw(peek(), 'in')) {
        k++;
        expectOp('(');
        const values: Literal[] = [];
        for (;;) {
          const lit = parseLiteral();
          if (!lit) syntax(text, peek().pos, 'expected a literal in the IN list');
          values.push(lit);
          if (isOp(peek(), ',')) {
            k++;
            continue;
          }
          break;
        }
        expectOp(')');
        const e: Expr = { kind: 'in', column, values };
        return negatedIn ? { kind: 'not', expr: e } : e;
      }
      const op = peek();
      if (op.t === 'op' && ['=', '!=', '<', '<=', '>', '>='].includes(op.v)) {
        k++;
        const value = parseLiteral();
        if (!value) syntax(text, peek().pos, 'expected a literal (comparing two columns is not supported)');
        return { kind: 'compare', op: op.v as CompareOp, column, value };
      }
      return { kind: 'column', column };
    }
    const lit = parseLiteral();
    if (lit) {
      const op = peek();
      if (op.t === 'op' && ['=', '!=', '<', '<=', '>', '>='].includes(op.v)) {
        k++;
        const col = parseColumn();
        if (!col) syntax(text, peek().pos, 'expected a column name');
        const flipped: Record<string, CompareOp> = {
          '=': '=',
          '!=': '!=',
          '<': '>',
          '<=': '>=',
          '>': '<',
          '>=': '<=',
        };
        return { kind: 'compare', op: flipped[op.v]!, column: col, value: lit };
      }
      return { kind: 'literal', value: lit };
    }
    return syntax(
      text,
      startTok.pos,
      startTok.t === 'end' ? 'unexpected end of filter' : 'expected a column, a literal or "("',
    );
  };

  const parseNot = (): Expr => {
    if (isKw(peek(), 'not')) {
      k++;
      return { kind: 'not', expr: parseNot() };
    }
    if (isOp(peek(), '(')) {
      k++;
      const e = parseOr();
      expectOp(')');
      return e;
    }
    return parsePredicate();
  };
  const parseAnd = (): Expr => {
    let left = parseNot();
    while (isKw(peek(), 'and')) {
      k++;
      left = { kind: 'and', left, right: parseNot() };
    }
    return left;
  };
  const parseOr = (): Expr => {
    let left = parseAnd();
    while (isKw(peek(), 'or')) {
      k++;
      left = { kind: 'or', left, right: parseAnd() };
    }
    return left;
  };

  const e = parseOr();
  if (peek().t !== 'end') syntax(text, peek().pos, 'unexpected text');
  return e;
}

/** Every column path an expression refers to. */
export function referencedColumns(e: Expr, out: string[][] = []): string[][] {
  switch (e.kind) {
    case 'and':
    case 'or':
      referencedColumns(e.left, out);
      referencedColumns(e.right, out);
      break;
    case 'not':
      referencedColumns(e.expr, out);
      break;
    case 'literal':
      break;
    default:
      out.push(e.column);
  }
  return out;
}

/** A column name as filter text: bare when it can be, else in backquotes. */
export function quoteColumn(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !KEYWORDS.has(name.toLowerCase()) ? name : `\`${name}\``;
}

/** Render an expression back to filter text (for commit parameters and messages). */
export function formatFilter(e: Expr): string {
  const col = (c: string[]): string => c.map(quoteColumn).join('.');
  const lit = (l: Literal): string =>
    l.kind === 'number'
      ? l.text
      : l.kind === 'string'
        ? `'${l.value.replace(/'/g, "''")}'`
        : l.kind === 'boolean'
          ? String(l.value)
          : 'NULL';
  switch (e.kind) {
    case 'and':
    case 'or':
      return `(${formatFilter(e.left)} ${e.kind.toUpperCase()} ${formatFilter(e.right)})`;
    case 'not':
      return `NOT ${formatFilter(e.expr)}`;
    case 'compare':
      return `${col(e.column)} ${e.op} ${lit(e.value)}`;
    case 'in':
      return `${col(e.column)} IN (${e.values.map(lit).join(', ')})`;
    case 'isNull':
      return `${col(e.column)} IS NULL`;
    case 'column':
      return col(e.column);
    case 'literal':
      return lit(e.value);
  }
}
