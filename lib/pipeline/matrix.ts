/**
 * Matrix expansion for `pivot.yaml` stages (SPEC §7): one variant per
 * combination of one value from each dimension, first dimension outermost,
 * named by the values' keys joined with `_` (function stages) or `-`
 * (command stages, as DVC names `matrix` variants). Also DVC's `foreach`:
 * the keys and items of a list or mapping.
 *
 * Free of dependencies (no YAML, no file system, no Pivot module), as Python
 * Pivot keeps `matrix.py`: the validator (`pivot_yaml.ts`) checks names and
 * reports errors with file and line; this module only combines.
 *
 * @module
 */

import { isPlainObject } from "./_values.ts";

/** A value of a matrix dimension: a list item as written, or a named variant's key. */
export type MatrixValue = string | number | boolean;

/**
 * One dimension of a matrix; `T` is what each value carries (its overrides),
 * `V` the values' type (any data for DVC's matrix).
 */
export interface MatrixDimension<T, V = MatrixValue> {
  /** The dimension's name, used as `${name}` (`${item.name}` in DVC's matrix). */
  readonly name: string;
  /** Its values in declaration order. */
  readonly values: readonly MatrixChoice<T, V>[];
}

/** One value of a dimension. */
export interface MatrixChoice<T, V = MatrixValue> {
  /** The value's part of a variant name (`small`, `5`, `true`). */
  readonly key: string;
  /** The value with its YAML type, as `${dim}` gives it. */
  readonly value: V;
  /** What the value carries. */
  readonly item: T;
}

/** One combination. */
export interface MatrixVariant<T, V = MatrixValue> {
  /** The variant name: the keys joined with `_` (`small_test`) or the separator given. */
  readonly name: string;
  /** The keys joined with `, `, for messages (`small, test`). */
  readonly combination: string;
  /** The value of each dimension, by dimension name. */
  readonly values: Readonly<Record<string, V>>;
  /** The items of the chosen values, in dimension order. */
  readonly items: readonly T[];
}

/**
 * Every combination of one value per dimension, first dimension outermost,
 * named by the keys joined with `separator` (`_`; DVC's matrix uses `-`).
 * Names may repeat (`a_b` + `c` and `a` + `b_c`): the caller decides.
 *
 * @example
 * ```ts
 * const variants = expandMatrix([
 *   { name: "model", values: [{ key: "small", value: "small", item: 1 }] },
 *   { name: "data", values: [{ key: "a", value: "a", item: 2 }, { key: "b", value: "b", item: 3 }] },
 * ]);
 * variants.map((v) => v.name); // ["small_a", "small_b"]
 * variants[1].values; // { model: "small", data: "b" }
 * ```
 */
export function expandMatrix<T, V = MatrixValue>(
  dimensions: readonly MatrixDimension<T, V>[],
  separator = "_",
): MatrixVariant<T, V>[] {
  let combinations: MatrixChoice<T, V>[][] = [[]];
  for (const dimension of dimensions) {
    combinations = combinations.flatMap((prefix) =>
      dimension.values.map((choice) => [...prefix, choice])
    );
  }
  return combinations.map((choice) => {
    const values: Record<string, V> = {};
    dimensions.forEach((dimension, index) => values[dimension.name] = choice[index].value);
    return {
      name: choice.map((item) => item.key).join(separator),
      combination: choice.map((item) => item.key).join(", "),
      values,
      items: choice.map((item) => item.item),
    };
  });
}

/** One variant of a DVC `foreach`. */
export interface ForeachVariant {
  /** Its key: the variant's name after `@`. */
  readonly key: string;
  /** Its item (`${item}`). */
  readonly item: unknown;
}

/**
 * The variants of a DVC `foreach` over `iterable`, as DVC names them: for a
 * mapping, its keys; for a list of scalars, each value as text; for a list
 * holding a list or mapping, the indexes. `text` writes a scalar as DVC
 * does (Python's `str`).
 *
 * @example
 * ```ts
 * foreachVariants(["us", "eu"], String); // [{ key: "us", item: "us" }, { key: "eu", item: "eu" }]
 * foreachVariants([{ a: 1 }], String); // [{ key: "0", item: { a: 1 } }]
 * foreachVariants({ small: { n: 5 } }, String); // [{ key: "small", item: { n: 5 } }]
 * ```
 */
export function foreachVariants(
  iterable: readonly unknown[] | Readonly<Record<string, unknown>>,
  text: (value: unknown) => string,
): ForeachVariant[] {
  if (!Array.isArray(iterable)) {
    return Object.entries(iterable).map(([key, item]) => ({ key, item }));
  }
  const composite = iterable.some(isComposite);
  return iterable.map((item, index) => ({ key: composite ? String(index) : text(item), item }));
}

/**
 * A dimension of DVC's `matrix` (`name: [values]`): each value's key is the
 * value as text, or `<name><index>` for a list or mapping, as DVC names
 * variants (`train@small-0.1`, `train@model0-adam`).
 *
 * @example
 * ```ts
 * const dim = dvcMatrixDimension("lr", [0.1, 1], String);
 * dim.values.map((v) => v.key); // ["0.1", "1"]
 * expandMatrix([dim], "-").map((v) => v.name); // ["0.1", "1"]
 * ```
 */
export function dvcMatrixDimension(
  name: string,
  values: readonly unknown[],
  text: (value: unknown) => string,
): MatrixDimension<undefined, unknown> {
  return {
    name,
    values: values.map((value, index) => ({
      key: isComposite(value) ? `${name}${index}` : text(value),
      value,
      item: undefined,
    })),
  };
}

function isComposite(value: unknown): boolean {
  return Array.isArray(value) || isPlainObject(value);
}
