/**
 * Small helpers about plain values (params, parsed YAML): checks, deep merge
 * and copy, key paths for messages. Kept apart from `_yaml_source.ts` so that
 * modules on the start-up path do not pull in the `yaml` package (~30 ms to
 * import), and free of imports, so that `matrix.ts` stays dependency-free.
 *
 * @module
 */

/** `a mapping`, `a list`, `a string`, … for "expected X, got Y" messages. */
export function yamlKindOf(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  // A float boxed for DVC-style interpolation (`YamlFloat` in substitute.ts).
  if (typeof value === "object" && value.constructor?.name === "YamlFloat") {
    return yamlKindOf((value as { value: number }).value);
  }
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `${typeof value === "string" ? "a string" : `a ${typeof value}`} (${
    short(JSON.stringify(value))
  })`;
}

/** True for a mapping parsed from YAML (or any plain object). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Cut a text for a one-line message. */
export function short(text: string, max = 40): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A deep copy of arrays and plain objects; other values are shared. */
export function cloneJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(cloneJson);
  if (isPlainObject(value)) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) copy[key] = cloneJson(item);
    return copy;
  }
  return value;
}

/**
 * `override` merged over `base`, as a fresh value: nested plain objects key
 * by key, anything else (arrays included) replaces the lower value whole. An
 * `undefined` in `override` overrides nothing.
 */
export function deepMerge(
  base: Readonly<Record<string, unknown>>,
  override: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    const lower = merged[key];
    merged[key] = isPlainObject(lower) && isPlainObject(value)
      ? deepMerge(lower, value)
      : cloneJson(value);
  }
  return merged;
}

/** True when `value` has every key of `path` in turn (own properties only). */
export function hasPath(value: unknown, path: readonly PropertyKey[]): boolean {
  let current = value;
  for (const key of path) {
    if (typeof current !== "object" || current === null || !Object.hasOwn(current, key)) {
      return false;
    }
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return true;
}

/**
 * A key path for messages: `optimizer.lr`, `layers[0].size`. Numbers are
 * list indexes; a string already written as `[0]` is kept as it is.
 */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const key of path) {
    if (typeof key === "number") text += `[${key}]`;
    else if (typeof key === "string" && key.startsWith("[")) text += key;
    else text += text === "" ? String(key) : `.${String(key)}`;
  }
  return text;
}
