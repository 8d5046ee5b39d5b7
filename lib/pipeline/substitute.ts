/**
 * `${…}` substitution in `pivot.yaml`, in two dialects:
 *
 * - **Pivot's** (function stages): each `${dim}` is replaced by the variant's
 *   value of matrix dimension `dim`; a `${` without `}` is an error.
 * - **DVC's** (command stages, `dvc.yaml`): `${key}`, `${item.field}`,
 *   `${a.b[0]}` look up a nested context (params files, `vars`, `item` and
 *   `key` of `foreach`/`matrix`); values are written as DVC writes them
 *   (Python's `str`: `1.0`, `1e-05`, `true`, `None`); a mapping inside `cmd`
 *   becomes `--key value` flags; `\${` is a literal `${`; an unterminated
 *   `${` is text. This follows `dvc/parsing/interpolate.py` and `context.py`.
 *
 * Free of dependencies but the typo suggester, like `matrix.ts`: errors are
 * thrown as {@link SubstitutionError}s that say what is wrong; the validator
 * adds the file, line and stage.
 *
 * @module
 */

import { closestMatch } from "../suggest.ts";
import { isPlainObject } from "./_values.ts";

/**
 * The variables `${…}` may name: for Pivot's dialect a variant's value of
 * each matrix dimension; for DVC's, a nested context of plain data.
 */
export type Variables = Readonly<Record<string, unknown>>;

/**
 * A float read from YAML, kept apart from integers while DVC-style values are
 * interpolated: Python (and so DVC) writes the YAML float `1.0` as `1.0` and
 * `0.00001` as `1e-05`, where JavaScript would write `1` and `0.00001`. Only
 * interpolation contexts hold these; {@link unboxFloats} turns them back into
 * numbers.
 *
 * @example
 * ```ts
 * substitute("--lr ${lr}", { lr: new YamlFloat(1) }, { dvc: true }); // "--lr 1.0"
 * ```
 */
export class YamlFloat {
  /** The float. */
  readonly value: number;

  /** Box `value`. */
  constructor(value: number) {
    this.value = value;
  }
}

/** A `${` without `}`, an unknown variable, or a value that cannot be written as text. */
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

/** Options of {@link substitute}. */
export interface SubstituteOptions {
  /**
   * A text that is exactly one `${…}` becomes the value with its own type
   * (`5`, `true`; with `composite`, a list or mapping too).
   */
  readonly typed?: boolean;
  /** DVC's dialect (see the module doc). */
  readonly dvc?: boolean;
  /** DVC: the text is a command: a mapping becomes `--key value` flags. */
  readonly cmd?: boolean;
  /** DVC, typed: a lone `${…}` may give a list or mapping (`foreach: ${models}`). */
  readonly composite?: boolean;
}

/**
 * Replace each `${…}` in `text`. A third argument `true` is `{ typed: true }`.
 *
 * @throws {SubstitutionError} for an unknown variable (with a suggestion
 * when one is close), an unterminated `${` (Pivot's dialect), or a list or
 * mapping where text is needed.
 *
 * @example
 * ```ts
 * substitute("data/${dataset}.json", { dataset: "test" }); // "data/test.json"
 * substitute("${epochs}", { epochs: 5 }, true); // 5
 * substitute("python train.py ${train.args}", { train: { args: { lr: 0.1, v: true } } }, {
 *   dvc: true,
 *   cmd: true,
 * }); // "python train.py --lr 0.1 --v"
 * ```
 */
export function substitute(
  text: string,
  values: Variables,
  options: boolean | SubstituteOptions = {},
): unknown {
  const opts: SubstituteOptions = typeof options === "boolean" ? { typed: options } : options;
  const dvc = opts.dvc === true;
  const matches = findExpressions(text, dvc);
  if (matches.length === 0) return dvc ? text.replaceAll("\\${", "${") : text;
  const only = matches[0];
  if (opts.typed && matches.length === 1 && only.start === 0 && only.end === text.length) {
    const value = lookup(only.expression, text, values, dvc);
    if (dvc && !opts.composite && (Array.isArray(value) || isPlainObject(value))) {
      throw new SubstitutionError(cannotWrite(only.expression, value, text));
    }
    return value instanceof YamlFloat && !dvc ? value.value : value;
  }
  let result = "";
  let index = 0;
  for (const match of matches) {
    const value = lookup(match.expression, text, values, dvc);
    result += text.slice(index, match.start) + toText(value, match.expression, text, opts);
    index = match.end;
  }
  result += text.slice(index);
  // DVC's regex skips an escaped `\${`; the escape is then dropped.
  return dvc ? result.replaceAll("\\${", "${") : result;
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

/**
 * DVC's resolution of a whole value (`Context.resolve`): every string, at
 * any depth, keys of mappings included, is substituted in DVC's dialect; a
 * string that is exactly one `${…}` keeps the value's type. A
 * {@link SubstitutionError} carries the key path of the string at fault.
 * Floats stay boxed ({@link YamlFloat}); see {@link unboxFloats}.
 *
 * @example
 * ```ts
 * interpolateDeep({ "${name}.txt": { cache: "${flag}" } }, { name: "a", flag: false }, {});
 * // { "a.txt": { cache: false } }
 * ```
 */
export function interpolateDeep(
  value: unknown,
  values: Variables,
  options: Omit<SubstituteOptions, "dvc" | "typed">,
  keys: readonly (string | number)[] = [],
): unknown {
  if (typeof value === "string") {
    try {
      return substitute(value, values, { ...options, dvc: true, typed: !options.cmd });
    } catch (error) {
      if (error instanceof SubstitutionError) throw new SubstitutionError(error.message, keys);
      throw error;
    }
  }
  if (Array.isArray(value)) {
    return value.map((item, index) => interpolateDeep(item, values, options, [...keys, index]));
  }
  if (isPlainObject(value)) {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const resolvedKey = interpolateDeep(key, values, { ...options, composite: false }, keys);
      result[textOf(resolvedKey)] = interpolateDeep(item, values, options, [...keys, key]);
    }
    return result;
  }
  return value;
}

/** `value` with every {@link YamlFloat} replaced by its number, deeply. */
export function unboxFloats(value: unknown): unknown {
  if (value instanceof YamlFloat) return value.value;
  if (Array.isArray(value)) return value.map(unboxFloats);
  if (isPlainObject(value)) {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) result[key] = unboxFloats(item);
    return result;
  }
  return value;
}

/**
 * A scalar as DVC writes it in a name or a command (Python's `str`, with
 * booleans lower-case): `true`, `1.0`, `1e-05`, `None`.
 *
 * @example
 * ```ts
 * dvcText(new YamlFloat(0.00001)); // "1e-05"
 * dvcText(3); // "3"
 * ```
 */
export function dvcText(value: unknown): string {
  if (value instanceof YamlFloat) return pythonFloat(value.value);
  if (value === null || value === undefined) return "None";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    return Number.isInteger(value) ? String(value) : pythonFloat(value);
  }
  return String(value);
}

/**
 * Python's `repr` of a float: the shortest digits that read back as the same
 * number (as JavaScript's), in fixed notation from 1e-4 to 1e16 (always with
 * a fraction: `1.0`) and in exponent notation (`1e-05`, `1.5e+16`) outside.
 */
export function pythonFloat(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const [mantissa, exponentText] = Math.abs(value).toExponential().split("e");
  const exponent = Number(exponentText);
  const digits = mantissa.replace(".", "");
  const sign = value < 0 ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    const head = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const power = String(Math.abs(exponent)).padStart(2, "0");
    return `${sign}${head}e${exponent < 0 ? "-" : "+"}${power}`;
  }
  if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0");
  return `${sign}${whole}.${digits.slice(exponent + 1) || "0"}`;
}

// --- scanning and lookup ---

interface Expression {
  readonly start: number;
  readonly end: number;
  /** The text between `${` and `}`. */
  readonly expression: string;
}

function findExpressions(text: string, dvc: boolean): Expression[] {
  const found: Expression[] = [];
  let from = 0;
  while (true) {
    const start = text.indexOf("${", from);
    if (start < 0) return found;
    if (dvc && start > 0 && text[start - 1] === "\\") {
      from = start + 2;
      continue;
    }
    const end = text.indexOf("}", start + 2);
    if (end < 0) {
      if (dvc) return found; // DVC's pattern needs the `}`: the rest is text
      throw new SubstitutionError(
        `unterminated '\${' in ${JSON.stringify(text)}: close it with '}'`,
      );
    }
    found.push({ start, end: end + 1, expression: text.slice(start + 2, end) });
    from = end + 1;
  }
}

/**
 * The segments of `a.b[0]` (DVC's grammar: words joined by `.word` or
 * `[word]`), each trimmed; undefined when it does not parse.
 */
function segmentsOf(expression: string): string[] | undefined {
  const segments: string[] = [];
  const word = /^[^.[\]]+/;
  let rest = expression;
  let first = true;
  while (rest !== "") {
    if (!first) {
      if (rest.startsWith(".")) rest = rest.slice(1);
      else if (rest.startsWith("[")) {
        const close = rest.indexOf("]");
        const inner = close < 0 ? "" : rest.slice(1, close);
        if (close < 0 || !word.test(inner) || word.exec(inner)![0] !== inner) return undefined;
        segments.push(inner.trim());
        rest = rest.slice(close + 1);
        continue;
      } else return undefined;
    }
    const match = word.exec(rest);
    if (!match) return undefined;
    segments.push(match[0].trim());
    rest = rest.slice(match[0].length);
    first = false;
  }
  return segments.length > 0 ? segments : undefined;
}

function lookup(expression: string, text: string, values: Variables, dvc: boolean): unknown {
  const segments = segmentsOf(expression);
  if (segments === undefined) {
    throw new SubstitutionError(
      `cannot read '\${${expression}}' in ${
        JSON.stringify(text)
      }: write a name, with '.key' or '[index]' after it`,
    );
  }
  let current: unknown = values;
  for (const [i, segment] of segments.entries()) {
    const keys = Array.isArray(current)
      ? current.map((_, index) => String(index))
      : isPlainObject(current)
      ? Object.keys(current)
      : [];
    const found = Array.isArray(current)
      ? /^\d+$/.test(segment) && Number(segment) < current.length
      : isPlainObject(current) && Object.hasOwn(current, segment);
    if (!found) {
      if (i === 0) {
        throw new SubstitutionError(
          `unknown variable '\${${expression}}' in ${JSON.stringify(text)}${
            hint(segment, values, dvc)
          }`,
        );
      }
      const parent = segments.slice(0, i).join(".");
      const what = keys.length === 0
        ? `'${parent}' is ${describe(current)}, it has no '${segment}'`
        : `'${parent}' has no '${segment}'${suggest(segment, keys)} (keys: ${
          keys.slice(0, 8).join(", ")
        }${keys.length > 8 ? ", …" : ""})`;
      throw new SubstitutionError(
        `unknown variable '\${${expression}}' in ${JSON.stringify(text)}: ${what}`,
      );
    }
    current = Array.isArray(current)
      ? current[Number(segment)]
      : (current as Record<string, unknown>)[segment];
  }
  return current;
}

function toText(value: unknown, expression: string, text: string, opts: SubstituteOptions) {
  if (!opts.dvc) {
    if (value instanceof YamlFloat) return String(value.value);
    if (value !== null && typeof value === "object") {
      throw new SubstitutionError(cannotWrite(expression, value, text));
    }
    return String(value);
  }
  if (isPlainObject(value) && opts.cmd) return commandFlags(value, expression);
  if (Array.isArray(value) || isPlainObject(value)) {
    throw new SubstitutionError(cannotWrite(expression, value, text));
  }
  return dvcText(value);
}

function textOf(value: unknown): string {
  return typeof value === "string" ? value : dvcText(value);
}

/**
 * A mapping in a command, as DVC writes it (`to_str` of a dict): keys
 * flattened with `.`; `true` is `--key`, `false` nothing; a string is
 * `--key 'quoted'`; a list is `--key a b`; anything else `--key value`.
 */
function commandFlags(value: Record<string, unknown>, expression: string): string {
  const parts: string[] = [];
  for (const [key, item] of flatten(value)) {
    if (typeof item === "boolean") {
      if (item) parts.push(`--${key}`);
    } else if (typeof item === "string") parts.push(`--${key} ${shellQuote(item)}`);
    else if (Array.isArray(item)) {
      const words = item.map((element) => {
        if (Array.isArray(element) || isPlainObject(element)) {
          throw new SubstitutionError(
            `'\${${expression}}': cannot write the nested list in '${key}' as command flags`,
          );
        }
        return typeof element === "string" ? shellQuote(element) : dvcText(element);
      });
      if (words.length > 0) parts.push(`--${key} ${words.join(" ")}`);
    } else parts.push(`--${key} ${dvcText(item)}`);
  }
  return parts.join(" ");
}

function flatten(value: Record<string, unknown>, prefix = ""): [string, unknown][] {
  return Object.entries(value).flatMap(([key, item]): [string, unknown][] => {
    const dotted = prefix === "" ? key : `${prefix}.${key}`;
    return isPlainObject(item) ? flatten(item, dotted) : [[dotted, item]];
  });
}

/** Python's `shlex.quote`. */
function shellQuote(text: string): string {
  if (text === "") return "''";
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(text)) return text;
  return `'${text.replaceAll("'", `'"'"'`)}'`;
}

function cannotWrite(expression: string, value: unknown, text: string): string {
  return `'\${${expression}}' in ${JSON.stringify(text)} is ${
    describe(value)
  }, which cannot be written as text: name one of its values (\${${expression}.key})`;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (isPlainObject(value)) return "a mapping";
  if (value === null) return "null";
  return `a ${typeof value}`;
}

function suggest(word: string, candidates: readonly string[]): string {
  const close = closestMatch(word, candidates);
  return close === undefined ? "" : ` (did you mean '${close}'?)`;
}

function hint(variable: string, values: Variables, dvc: boolean): string {
  const known = Object.keys(values);
  if (known.length === 0) {
    return dvc
      ? " (there are no variables: define them in params.yaml or 'vars')"
      : " (the stage has no matrix, so there are no variables)";
  }
  const close = closestMatch(variable, known);
  return `${close === undefined ? "" : `: did you mean '\${${close}}'?`} (variables: ${
    known.join(", ")
  })`;
}
