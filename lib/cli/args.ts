import { LakehouseError } from '../errors.js';

/** Parse repeated `KEY=VALUE` options into a record. */
export function parseKeyValues(pairs: readonly string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const i = pair.indexOf('=');
    if (i <= 0) {
      // Storage options carry credentials: a malformed one is not echoed.
      const got =
        flag === '--storage-option' ? `an argument of ${pair.length} characters without "="` : `"${pair}"`;
      throw new LakehouseError('INVALID_ARGUMENT', `${flag} expects KEY=VALUE, got ${got}`);
    }
    out[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return out;
}

/** Parse a size such as `128MiB`, `512MB`, `1g` or a plain byte count. */
export function parseSize(text: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$/i.exec(text);
  if (!m)
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `${flag}: "${text}" is not a size; use e.g. 128MiB, 1GiB or 1048576`,
    );
  const power = { '': 0, k: 1, m: 2, g: 3, t: 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.round(Number(m[1]) * 1024 ** power);
}

/** Parse a non-negative integer option. */
export function parseCount(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim())) {
    throw new LakehouseError('INVALID_ARGUMENT', `${flag}: "${text}" is not a non-negative integer`);
  }
  return Number(text);
}
