/**
 * Loaders turn a dep file into the value a stage receives, and a returned value
 * into an out file. A loader is any object with `load(path)` (a {@link Reader}),
 * `save(value, path)` (a {@link Writer}) or both (a {@link Loader}).
 *
 * Built-in loaders carry a {@link LOADER_SPEC} (kind and options) so that a
 * change of options re-runs the stage; a custom loader's code is fingerprinted
 * by static analysis like any other code the stage reaches.
 *
 * Third-party parsers (yaml, csv) are imported lazily inside `load`/`save`, so
 * that importing a pipeline file stays cheap: every worker imports it.
 *
 * @module
 */

/** Reads a file into a value of type `T`. */
export interface Reader<T> {
  /** Read the file at `path` (absolute) and return its value. */
  load(path: string): T | Promise<T>;
}

/** Writes a value of type `T` to a file. */
export interface Writer<T> {
  /** Write `value` to `path` (absolute; its parent directory exists). */
  save(value: T, path: string): void | Promise<void>;
}

/** Both a {@link Reader} and a {@link Writer}. */
export type Loader<T> = Reader<T> & Writer<T>;

/** Key under which a built-in loader describes itself for fingerprinting. */
export const LOADER_SPEC: unique symbol = Symbol.for("pivot.loaderSpec");

/** Marks the path-only loader: the stage receives or writes a path itself. */
export const PATH_ONLY: unique symbol = Symbol.for("pivot.pathOnly");

/** What a built-in loader is: its kind and options, part of the stage fingerprint. */
export interface LoaderSpec {
  /** Built-in loader name, such as `"csv"`. */
  readonly kind: string;
  /** The options it was created with (JSON-serialisable). */
  readonly options: Readonly<Record<string, unknown>>;
}

/** A built-in loader: a {@link Loader} that describes itself. */
export interface BuiltinLoader<T> extends Loader<T> {
  /** Kind and options, hashed into the stage's `loader:<name>` manifest key. */
  readonly [LOADER_SPEC]: LoaderSpec;
}

/**
 * The path-only loader: as a dep the stage receives the file's absolute path;
 * as an out the stage writes the file at `ctx.outs.<name>` itself.
 */
export interface PathOnlyLoader extends Reader<string> {
  /** Brand. */
  readonly [PATH_ONLY]: true;
  /** Kind and options. */
  readonly [LOADER_SPEC]: LoaderSpec;
}

/** True when `loader` is the {@link PathOnlyLoader}. */
export function isPathOnly(loader: unknown): loader is PathOnlyLoader {
  return typeof loader === "object" && loader !== null && PATH_ONLY in loader;
}

/** The spec of a built-in loader, or `undefined` for a custom one. */
export function loaderSpecOf(loader: unknown): LoaderSpec | undefined {
  if (typeof loader !== "object" || loader === null || !(LOADER_SPEC in loader)) return undefined;
  return (loader as { [LOADER_SPEC]: LoaderSpec })[LOADER_SPEC];
}

function builtin<T>(
  kind: string,
  options: Record<string, unknown>,
  load: (path: string) => Promise<T>,
  save: (value: T, path: string) => Promise<void>,
): BuiltinLoader<T> {
  return { load, save, [LOADER_SPEC]: { kind, options } };
}

/** Options of {@link json}. */
export interface JsonOptions {
  /** Indentation of the written file (default 2; 0 writes one line). */
  indent?: number;
}

/**
 * JSON files. `T` is the parsed type; it is trusted, not validated.
 *
 * @example
 * ```ts
 * const model = out("model.json", loaders.json<{ w: number }>());
 * ```
 */
export function json<T = unknown>(options: JsonOptions = {}): BuiltinLoader<T> {
  const indent = options.indent ?? 2;
  return builtin<T>(
    "json",
    { indent },
    async (path) => JSON.parse(await Deno.readTextFile(path)) as T,
    (value, path) => Deno.writeTextFile(path, JSON.stringify(value, null, indent) + "\n"),
  );
}

/** YAML files, parsed with the `yaml` package. */
export function yaml<T = unknown>(): BuiltinLoader<T> {
  return builtin<T>(
    "yaml",
    {},
    async (path) => {
      const { parse } = await import("yaml");
      return parse(await Deno.readTextFile(path)) as T;
    },
    async (value, path) => {
      const { stringify } = await import("yaml");
      await Deno.writeTextFile(path, stringify(value));
    },
  );
}

/** JSON Lines: one JSON value a line; blank lines are skipped. */
export function jsonl<T = unknown>(): BuiltinLoader<T[]> {
  return builtin<T[]>(
    "jsonl",
    {},
    async (path) => {
      const lines = (await Deno.readTextFile(path)).split("\n");
      return lines.filter((line) => line.trim() !== "").map((line) => JSON.parse(line) as T);
    },
    (rows, path) =>
      Deno.writeTextFile(path, rows.map((row) => JSON.stringify(row) + "\n").join("")),
  );
}

/** UTF-8 text. */
export function text(): BuiltinLoader<string> {
  return builtin<string>(
    "text",
    {},
    (path) => Deno.readTextFile(path),
    (value, path) => Deno.writeTextFile(path, value),
  );
}

/** Raw bytes. */
export function bytes(): BuiltinLoader<Uint8Array> {
  return builtin<Uint8Array>(
    "bytes",
    {},
    (path) => Deno.readFile(path),
    (value, path) => Deno.writeFile(path, value),
  );
}

/** The type a CSV column is converted to. */
export type CsvColumnType = "string" | "number" | "boolean";

type ColumnValue<C extends CsvColumnType> = C extends "number" ? number
  : C extends "boolean" ? boolean
  : string;

/** A CSV row: every column a string unless typed in {@link CsvOptions.columns}. */
export type CsvRow<C extends Record<string, CsvColumnType>> =
  & Record<string, string>
  & { [K in keyof C]: ColumnValue<C[K]> };

/** Options of {@link csv}. */
export interface CsvOptions<
  C extends Record<string, CsvColumnType> = Record<string, CsvColumnType>,
> {
  /** Field separator (default `,`). */
  separator?: string;
  /** Columns to convert from text: `{ value: "number" }`. Others stay strings. */
  columns?: C;
}

/**
 * CSV with a header row, read as an array of records (one per row, keyed by
 * header) and written from one. Parsing is done by `csv-parse`.
 *
 * With `columns`, the named columns are converted and typed. Otherwise every
 * cell is a string and the row type is yours to state (`csv<Row>()`, trusted
 * like `json<T>()`); with neither, rows are untyped.
 *
 * @example
 * ```ts
 * const raw = dep("data.csv", loaders.csv({ columns: { value: "number" } }));
 * // rows are typed { value: number } & Record<string, string>
 * ```
 */
export function csv<C extends Record<string, CsvColumnType>>(
  options: CsvOptions<C> & { columns: C },
): BuiltinLoader<CsvRow<C>[]>;
/** CSV rows of a type you state (every cell read as a string). */
// deno-lint-ignore no-explicit-any
export function csv<R extends object = any>(
  options?: Omit<CsvOptions, "columns">,
): BuiltinLoader<R[]>;
export function csv(options: CsvOptions = {}): BuiltinLoader<Record<string, unknown>[]> {
  const separator = options.separator ?? ",";
  const columns: Record<string, CsvColumnType> = options.columns ?? {};
  return builtin<Record<string, unknown>[]>(
    "csv",
    { separator, columns },
    async (path) => {
      const { parse } = await import("csv-parse/sync");
      const records = parse(await Deno.readTextFile(path), {
        columns: true,
        delimiter: separator,
        skip_empty_lines: true,
      }) as Record<string, unknown>[];
      for (const record of records) {
        for (const [column, type] of Object.entries(columns)) {
          record[column] = convertCell(record[column] as string, type, column, path);
        }
      }
      return records;
    },
    async (rows, path) => {
      const { stringify } = await import("csv-stringify/sync");
      // Every column any row has, in order of first appearance.
      const header = rows.length > 0
        ? [...new Set(rows.flatMap((row) => Object.keys(row)))]
        : Object.keys(columns);
      await Deno.writeTextFile(
        path,
        stringify(rows, {
          header: true,
          columns: header,
          delimiter: separator,
          // Written as read: booleans as true/false, and NaN (what an empty
          // number cell reads as) as an empty cell, not "NaN", which would
          // not read back.
          cast: {
            boolean: (value: boolean) => String(value),
            number: (value: number) => Number.isNaN(value) ? "" : String(value),
          },
        }),
      );
    },
  );
}

function convertCell(cell: string | undefined, type: CsvColumnType, column: string, path: string) {
  if (cell === undefined) throw new Error(`${path}: column '${column}' is missing`);
  if (type === "string") return cell;
  if (type === "boolean") {
    const lower = cell.trim().toLowerCase();
    if (lower === "true" || lower === "1") return true;
    if (lower === "false" || lower === "0" || lower === "") return false;
    throw new Error(`${path}: column '${column}': expected a boolean, got '${cell}'`);
  }
  if (cell.trim() === "") return NaN;
  const value = Number(cell);
  if (Number.isNaN(value)) {
    throw new Error(`${path}: column '${column}': expected a number, got '${cell}'`);
  }
  return value;
}

/**
 * The stage handles the file itself: a dep gives its absolute path, an out is
 * written by the stage at `ctx.outs.<name>` and needs no returned value.
 */
export function pathOnly(): PathOnlyLoader {
  return {
    load: (path) => path,
    [PATH_ONLY]: true,
    [LOADER_SPEC]: { kind: "pathOnly", options: {} },
  };
}
