// A deterministic instance of a JSON Schema: what the scripted model answers when asked for
// structured output or tool arguments. Covers the subset Structured Outputs allows.

type Schema = Record<string, unknown>;

export function exampleFromSchema(schema: Schema, root: Schema = schema, depth = 0): unknown {
  if (depth > 8) return null;
  if (typeof schema.$ref === 'string') return exampleFromSchema(resolveRef(schema.$ref, root), root, depth + 1);
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  const variants = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (Array.isArray(variants) && variants.length) {
    const nonNull = variants.find((v) => v.type !== 'null') ?? variants[0];
    return exampleFromSchema(nonNull, root, depth + 1);
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      return Object.fromEntries(
        Object.entries(properties).map(([key, value]) => [key, exampleFromSchema(value, root, depth + 1)]),
      );
    }
    case 'array': {
      const items = (schema.items ?? {}) as Schema;
      const count = Math.max(1, Number(schema.minItems ?? 1));
      return Array.from({ length: count }, () => exampleFromSchema(items, root, depth + 1));
    }
    case 'string':
      return schema.format === 'date' ? '2026-01-01' : schema.format === 'date-time' ? '2026-01-01T00:00:00Z' : 'example';
    case 'integer':
      return Math.max(1, Number(schema.minimum ?? 1));
    case 'number':
      return Math.max(1, Number(schema.minimum ?? 1));
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return schema.properties ? exampleFromSchema({ ...schema, type: 'object' }, root, depth + 1) : {};
  }
}

function resolveRef(ref: string, root: Schema): Schema {
  if (!ref.startsWith('#/')) return {};
  let node: unknown = root;
  for (const key of ref.slice(2).split('/')) node = (node as Schema | undefined)?.[key];
  return (node as Schema) ?? {};
}
