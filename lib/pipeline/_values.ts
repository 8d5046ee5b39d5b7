/**
 * Small helpers about plain values, for messages and checks. Kept apart from
 * `_yaml_source.ts` so that modules on the start-up path do not pull in the
 * `yaml` package (~30 ms to import).
 *
 * @module
 */

/** `a mapping`, `a list`, `a string`, … for "expected X, got Y" messages. */
export function yamlKindOf(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
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
