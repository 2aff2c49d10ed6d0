// Attribute filters (OpenAI's ComparisonFilter / CompoundFilter) and the attributes they test:
// at most 16 keys of up to 64 characters, values strings (≤ 512 characters), numbers or booleans.
import { badRequest } from '../protocol/errors.js';

export type AttributeValue = string | number | boolean;
export type Attributes = Record<string, AttributeValue>;

export type ComparisonFilter = {
  type: 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'in' | 'nin';
  key: string;
  value: AttributeValue | Array<string | number>;
};
export type CompoundFilter = { type: 'and' | 'or'; filters: Filter[] };
export type Filter = ComparisonFilter | CompoundFilter;

const COMPARISONS = new Set(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'nin']);
const MAX_DEPTH = 8;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isScalar = (v: unknown): v is AttributeValue => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

/** Checks a filter's shape; the error names the offending field (`param` is where it sits). */
export function parseFilter(value: unknown, param: string, depth = 0): Filter {
  if (!isObject(value)) throw badRequest(`Invalid value for '${param}': a filter is an object with a 'type'.`, param, 'invalid_value');
  const type = value.type;
  if (type === 'and' || type === 'or') {
    if (depth >= MAX_DEPTH) throw badRequest(`Invalid value for '${param}': filters nest at most ${MAX_DEPTH} deep.`, param, 'invalid_value');
    if (!Array.isArray(value.filters)) {
      throw badRequest(`Invalid value for '${param}.filters': a compound filter needs a 'filters' array.`, `${param}.filters`, 'invalid_value');
    }
    return { type, filters: value.filters.map((f, i) => parseFilter(f, `${param}.filters[${i}]`, depth + 1)) };
  }
  if (typeof type !== 'string' || !COMPARISONS.has(type)) {
    throw badRequest(
      `Invalid value for '${param}.type': expected one of eq, ne, gt, gte, lt, lte, in, nin, and, or.`,
      `${param}.type`,
      'invalid_value',
    );
  }
  if (typeof value.key !== 'string' || !value.key) {
    throw badRequest(`Invalid value for '${param}.key': a comparison needs the attribute's key.`, `${param}.key`, 'invalid_value');
  }
  const v = value.value;
  const list = type === 'in' || type === 'nin';
  const ok = list ? Array.isArray(v) && v.every((x) => typeof x === 'string' || (typeof x === 'number' && Number.isFinite(x))) : isScalar(v);
  if (!ok) {
    throw badRequest(
      `Invalid value for '${param}.value': ${list ? `'${type}' compares with an array of strings or numbers` : 'expected a string, number or boolean'}.`,
      `${param}.value`,
      'invalid_value',
    );
  }
  return { type: type as ComparisonFilter['type'], key: value.key, value: v as ComparisonFilter['value'] };
}

/**
 * Whether a file's attributes pass. A missing attribute fails every comparison except `ne` and
 * `nin`; order comparisons need two numbers or two strings (ISO dates compare as strings).
 */
export function matches(filter: Filter, attributes: Attributes | null): boolean {
  switch (filter.type) {
    case 'and':
      return filter.filters.every((f) => matches(f, attributes));
    case 'or':
      return filter.filters.some((f) => matches(f, attributes));
  }
  const actual = attributes?.[filter.key];
  const expected = filter.value;
  if (actual === undefined) return filter.type === 'ne' || filter.type === 'nin';
  switch (filter.type) {
    case 'eq':
      return actual === expected;
    case 'ne':
      return actual !== expected;
    case 'in':
      return (expected as unknown[]).includes(actual);
    case 'nin':
      return !(expected as unknown[]).includes(actual);
    default: {
      if (typeof actual !== typeof expected || (typeof actual !== 'number' && typeof actual !== 'string')) return false;
      const a = actual as number | string;
      const b = expected as number | string;
      if (filter.type === 'gt') return a > b;
      if (filter.type === 'gte') return a >= b;
      if (filter.type === 'lt') return a < b;
      return a <= b;
    }
  }
}

/** Checks attributes as the API accepts them; null clears them. */
export function parseAttributes(value: unknown, param = 'attributes'): Attributes | null {
  if (value === null || value === undefined) return null;
  if (!isObject(value)) throw badRequest(`Invalid type for '${param}': expected an object.`, param, 'invalid_type');
  const entries = Object.entries(value);
  if (entries.length > 16) throw badRequest(`Invalid value for '${param}': at most 16 attributes are allowed.`, param, 'invalid_value');
  for (const [key, v] of entries) {
    if (key.length > 64) throw badRequest(`Invalid value for '${param}': the key '${key.slice(0, 20)}…' is longer than 64 characters.`, param, 'invalid_value');
    if (!isScalar(v)) throw badRequest(`Invalid value for '${param}.${key}': expected a string, number or boolean.`, `${param}.${key}`, 'invalid_value');
    if (typeof v === 'string' && v.length > 512) {
      throw badRequest(`Invalid value for '${param}.${key}': strings are at most 512 characters.`, `${param}.${key}`, 'invalid_value');
    }
  }
  return value as Attributes;
}
