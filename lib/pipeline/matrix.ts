/**
 * Matrix expansion for `pivot.yaml` stages (SPEC §7): one variant per
 * combination of one value from each dimension, first dimension outermost,
 * named by the values' keys joined with `_`.
 *
 * Free of dependencies (no YAML, no file system, no Pivot module), as Python
 * Pivot keeps `matrix.py`: the validator (`pivot_yaml.ts`) checks names and
 * reports errors with file and line; this module only combines.
 *
 * @module
 */

/** A value of a matrix dimension: a list item as written, or a named variant's key. */
export type MatrixValue = string | number | boolean;

/** One dimension of a matrix; `T` is what each value carries (its overrides). */
export interface MatrixDimension<T> {
  /** The dimension's name, used as `${name}`. */
  readonly name: string;
  /** Its values in declaration order. */
  readonly values: readonly MatrixChoice<T>[];
}

/** One value of a dimension. */
export interface MatrixChoice<T> {
  /** The value's part of a variant name (`small`, `5`, `true`). */
  readonly key: string;
  /** The value with its YAML type, as `${dim}` gives it. */
  readonly value: MatrixValue;
  /** What the value carries. */
  readonly item: T;
}

/** One combination. */
export interface MatrixVariant<T> {
  /** The variant name: the keys joined with `_` (`small_test`). */
  readonly name: string;
  /** The keys joined with `, `, for messages (`small, test`). */
  readonly combination: string;
  /** The value of each dimension, by dimension name. */
  readonly values: Readonly<Record<string, MatrixValue>>;
  /** The items of the chosen values, in dimension order. */
  readonly items: readonly T[];
}

/**
 * Every combination of one value per dimension, first dimension outermost.
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
export function expandMatrix<T>(dimensions: readonly MatrixDimension<T>[]): MatrixVariant<T>[] {
  let combinations: MatrixChoice<T>[][] = [[]];
  for (const dimension of dimensions) {
    combinations = combinations.flatMap((prefix) =>
      dimension.values.map((choice) => [...prefix, choice])
    );
  }
  return combinations.map((choice) => {
    const values: Record<string, MatrixValue> = {};
    dimensions.forEach((dimension, index) => values[dimension.name] = choice[index].value);
    return {
      name: choice.map((item) => item.key).join("_"),
      combination: choice.map((item) => item.key).join(", "),
      values,
      items: choice.map((item) => item.item),
    };
  });
}
