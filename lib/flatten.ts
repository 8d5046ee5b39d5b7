/**
 * Nested values as flat tables: `{ train: { loss: 0.2 } }` becomes
 * `{ "train.loss": 0.2 }`. `params show|diff` and `metrics show|diff` both
 * show their values this way, so the two agree on what a key is.
 *
 * @module
 */

/**
 * Flatten nested objects to dotted keys: `{ opt: { lr: 1 } }` gives
 * `{ "opt.lr": 1 }`. Arrays are values, not flattened; an empty object stays
 * a value (`{}`) so that it is not lost.
 *
 * @example
 * ```ts
 * flattenKeys({ epochs: 10, opt: { lr: 0.1 } }); // { epochs: 10, "opt.lr": 0.1 }
 * ```
 */
export function flattenKeys(value: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const flat: Record<string, unknown> = {};
  const visit = (item: unknown, key: string) => {
    if (isPlainObject(item) && Object.keys(item).length > 0) {
      for (const [child, inner] of Object.entries(item)) visit(inner, `${key}.${child}`);
    } else {
      flat[key] = item;
    }
  };
  for (const [key, item] of Object.entries(value)) visit(item, key);
  return flat;
}

/**
 * True when `value` is a plain object (`{}` or `Object.create(null)`), not an
 * array, a class instance or null.
 *
 * @example
 * ```ts
 * isPlainObject({ a: 1 }); // true
 * isPlainObject([1]); // false
 * ```
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Deep equality of JSON-like values; `1` and `"1"` differ, `0` and `-0` do not,
 * `NaN` equals `NaN`.
 *
 * @example
 * ```ts
 * sameValue({ a: [1, 2] }, { a: [1, 2] }); // true
 * sameValue(1, "1"); // false
 * ```
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length &&
      a.every((item, index) => sameValue(item, b[index]));
  }
  if (isPlainObject(a) || isPlainObject(b)) {
    if (!isPlainObject(a) || !isPlainObject(b)) return false;
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length &&
      keys.every((key) => Object.hasOwn(b, key) && sameValue(a[key], b[key]));
  }
  return Object.is(a, b) || (a === 0 && b === 0);
}
