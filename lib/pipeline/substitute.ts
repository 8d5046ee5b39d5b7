/**
 * `${dim}` substitution in `pivot.yaml` paths and params: each `${dim}` is
 * replaced by the variant's value of matrix dimension `dim`.
 *
 * Free of dependencies but the typo suggester, like `matrix.ts`: errors are
 * thrown as {@link SubstitutionError}s that say what is wrong; the validator
 * adds the file, line and stage.
 *
 * @module
 */

import { closestMatch } from "../suggest.ts";
import { isPlainObject } from "./_values.ts";
import type { MatrixValue } from "./matrix.ts";

/** The variables of one variant: its value of each dimension. */
export type Variables = Readonly<Record<string, MatrixValue>>;

/** A `${` without `}`, or an unknown variable. */
export class SubstitutionError extends Error {
  override name = "SubstitutionError";
  /** For a params value: the key path of the string at fault. */
  readonly keys: readonly (string | number)[];

  /** `message` says what is wrong and how to fix it, without saying where. */
  constructor(message: string, keys: readonly (string | number)[] = []) {
    super(message);
    this.keys = keys;
  }
}

/**
 * Replace each `${dim}` in `text`. With `typed`, a text that is exactly one
 * `${dim}` becomes the dimension's value with its YAML type (`5`, `true`).
 *
 * @throws {SubstitutionError} for an unterminated `${` or an unknown variable
 * (with a suggestion when one is close).
 *
 * @example
 * ```ts
 * substitute("data/${dataset}.json", { dataset: "test" }); // "data/test.json"
 * substitute("${epochs}", { epochs: 5 }, true); // 5
 * ```
 */
export function substitute(text: string, values: Variables, typed = false): string | MatrixValue {
  const exact = /^\$\{([^}]*)\}$/.exec(text);
  if (typed && exact && Object.hasOwn(values, exact[1])) return values[exact[1]];
  let result = "";
  let rest = text;
  for (let start = rest.indexOf("${"); start >= 0; start = rest.indexOf("${")) {
    const end = rest.indexOf("}", start);
    if (end < 0) {
      throw new SubstitutionError(
        `unterminated '\${' in ${JSON.stringify(text)}: close it with '}'`,
      );
    }
    const variable = rest.slice(start + 2, end);
    if (!Object.hasOwn(values, variable)) {
      throw new SubstitutionError(
        `unknown variable '\${${variable}}' in ${JSON.stringify(text)}${hint(variable, values)}`,
      );
    }
    result += rest.slice(0, start) + String(values[variable]);
    rest = rest.slice(end + 1);
  }
  return result + rest;
}

/**
 * {@link substitute} (typed) in every string of a params value, deeply. A
 * {@link SubstitutionError} carries the key path of the string at fault.
 *
 * @example
 * ```ts
 * substituteParams({ lr: "${lr}", tags: ["${model}"] }, { lr: 0.1, model: "small" });
 * // { lr: 0.1, tags: ["small"] }
 * ```
 */
export function substituteParams(
  value: unknown,
  values: Variables,
  keys: readonly (string | number)[] = [],
): unknown {
  if (typeof value === "string") {
    try {
      return substitute(value, values, true);
    } catch (error) {
      if (error instanceof SubstitutionError) throw new SubstitutionError(error.message, keys);
      throw error;
    }
  }
  if (Array.isArray(value)) {
    return value.map((item, index) => substituteParams(item, values, [...keys, index]));
  }
  if (isPlainObject(value)) {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      result[key] = substituteParams(item, values, [...keys, key]);
    }
    return result;
  }
  return value;
}

function hint(variable: string, values: Variables): string {
  const known = Object.keys(values);
  if (known.length === 0) return " (the stage has no matrix, so there are no variables)";
  const close = closestMatch(variable, known);
  return `${close === undefined ? "" : `: did you mean '\${${close}}'?`} (variables: ${
    known.join(", ")
  })`;
}
