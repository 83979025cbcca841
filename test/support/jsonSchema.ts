/**
 * A deliberately small JSON Schema (2020-12 subset) checker for contract tests: type, enum,
 * const, properties/required/additionalProperties, items, anyOf/oneOf, min/max and local $ref —
 * the keywords z.toJSONSchema emits for the API's schemas. Returns the list of violations.
 */
type S = Record<string, any>;

export function violations(schema: S, value: unknown, root: S = schema, at = '$'): string[] {
  if (schema.$ref) {
    const target = (schema.$ref as string).replace(/^#\//, '').split('/').reduce((o: any, k) => o?.[k], root);
    if (!target) return [`${at}: unresolved ${schema.$ref}`];
    return violations(target, value, root, at);
  }
  const out: string[] = [];
  const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v);
  if (schema.type) {
    const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type];
    const t = typeOf(value);
    if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) return [`${at}: expected ${types.join('|')}, got ${t}`];
  }
  if (schema.enum && !schema.enum.includes(value)) out.push(`${at}: not in enum`);
  if ('const' in schema && schema.const !== value) out.push(`${at}: not const ${schema.const}`);
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) out.push(`${at}: < minimum`);
    if (schema.maximum !== undefined && value > schema.maximum) out.push(`${at}: > maximum`);
  }
  if (schema.anyOf || schema.oneOf) {
    const alts: S[] = schema.anyOf ?? schema.oneOf;
    const ok = alts.filter((a) => violations(a, value, root, at).length === 0).length;
    if (schema.anyOf ? ok === 0 : ok !== 1) out.push(`${at}: matches ${ok} alternatives`);
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const k of schema.required ?? []) if (!(k in obj)) out.push(`${at}.${k}: required`);
    for (const [k, v] of Object.entries(obj)) {
      if (schema.properties?.[k]) out.push(...violations(schema.properties[k], v, root, `${at}.${k}`));
      else if (schema.additionalProperties === false) out.push(`${at}.${k}: not allowed`);
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') out.push(...violations(schema.additionalProperties, v, root, `${at}.${k}`));
    }
  }
  if (Array.isArray(value) && schema.items) value.forEach((v, i) => out.push(...violations(schema.items, v, root, `${at}[${i}]`)));
  return out;
}
