/**
 * Loaders turn a dep file into the value a stage receives, and a value the
 * stage returns into an out file. A loader is any object with `load(path)` (a
 * {@link Reader}), `save(value, path)` (a {@link Writer}) or both (a
 * {@link Loader}); this module holds the built-in ones, reached as `loaders.*`.
 *
 * A built-in loader's kind and options are part of the stage fingerprint, so
 * a change of options re-runs the stage; a custom loader's code is
 * fingerprinted by static analysis like any other code the stage reaches.
 *
 * Third-party parsers (yaml, csv) are imported lazily inside `load`/`save`, so
 * importing a pipeline file stays cheap: every worker imports it.
 *
 * @example Declare a stage's deps and outs with loaders
 * ```ts
 * import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
 *
 * export const pipeline = new Pipeline("loaders_demo");
 *
 * pipeline.stage({
 *   name: "summarise",
 *   deps: { rows: dep("rows.csv", loaders.csv({ columns: { value: "number" } })) },
 *   outs: { summary: out("summary.json", loaders.json<{ total: number }>()) },
 *   run: ({ rows }) => ({ summary: { total: rows.reduce((sum, row) => sum + row.value, 0) } }),
 * });
 * ```
 *
 * @module
 */

import { LOADER_SPEC, type LoaderSpec, PATH_ONLY } from "../model/loader_spec.ts";
import { contentOf, FILES_KIND, returnedFiles } from "../model/returned_files.ts";
import { listFiles } from "../dir_walk.ts";

/**
 * Reads a file into a value of type `T`: the part of a loader a dep needs.
 * Pivot calls `load` in the stage's worker, before the run function.
 *
 * @typeParam T The value the stage receives.
 *
 * @example A custom reader: the number of lines of a file
 * ```ts
 * import { dep, type Reader } from "jsr:@pivot/core";
 * import assert from "node:assert/strict";
 *
 * const lineCount: Reader<number> = {
 *   load: async (path) => (await Deno.readTextFile(path)).split("\n").length - 1,
 * };
 * const lines = dep("words.txt", lineCount); // the stage receives a number
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "one\ntwo\n");
 * assert.equal(await lines.loader.load(path), 2);
 * await Deno.remove(path);
 * ```
 */
export interface Reader<T> {
  /**
   * Read the file at `path` (absolute) and return its value, or a promise of
   * it. A throw fails the stage with the error's message.
   */
  load(path: string): T | Promise<T>;
}

/**
 * Writes a value of type `T` to a file: the part of a loader an out needs.
 * Pivot calls `save` in the stage's worker with what the run function returned.
 *
 * @typeParam T The value the stage returns for the out.
 *
 * @example A custom writer: one sorted line per word
 * ```ts
 * import { out, type Writer } from "jsr:@pivot/core";
 * import assert from "node:assert/strict";
 *
 * const sortedLines: Writer<string[]> = {
 *   save: (words, path) => Deno.writeTextFile(path, words.toSorted().join("\n") + "\n"),
 * };
 * const vocabulary = out("vocabulary.txt", sortedLines); // the stage returns a string[]
 *
 * const path = await Deno.makeTempFile();
 * await vocabulary.loader.save(["pear", "apple"], path);
 * assert.equal(await Deno.readTextFile(path), "apple\npear\n");
 * await Deno.remove(path);
 * ```
 */
export interface Writer<T> {
  /**
   * Write `value` to `path` (absolute; its parent directory exists), or
   * return a promise that settles when it is written.
   */
  save(value: T, path: string): void | Promise<void>;
}

/**
 * Both a {@link Reader} and a {@link Writer}: what an out needs when a later
 * stage reads the same file back with the same loader.
 *
 * @typeParam T The value read and written.
 *
 * @example A custom loader of upper-case text
 * ```ts
 * import type { Loader } from "jsr:@pivot/core";
 * import assert from "node:assert/strict";
 *
 * const upper: Loader<string> = {
 *   load: async (path) => (await Deno.readTextFile(path)).toUpperCase(),
 *   save: (value, path) => Deno.writeTextFile(path, value.toUpperCase()),
 * };
 *
 * const path = await Deno.makeTempFile();
 * await upper.save("hello", path);
 * assert.equal(await upper.load(path), "HELLO");
 * await Deno.remove(path);
 * ```
 */
export type Loader<T> = Reader<T> & Writer<T>;

/**
 * A loader made by `loaders.json()`, `loaders.csv()` or another built-in. It
 * also carries its kind and options (hidden from these docs), so a change of
 * options, such as a new CSV separator, re-runs the stages that use it.
 *
 * @typeParam T The value read and written.
 *
 * @example
 * ```ts
 * import { type BuiltinLoader, loaders } from "jsr:@pivot/core";
 *
 * const model: BuiltinLoader<{ w: number }> = loaders.json<{ w: number }>();
 * ```
 */
export interface BuiltinLoader<T> extends Loader<T> {
  /** @ignore */
  readonly [LOADER_SPEC]: LoaderSpec;
}

/**
 * The loader made by `loaders.pathOnly()`: as a dep the stage receives the file's
 * absolute path; as an out the stage writes the file at `ctx.outs.<name>`
 * itself. Only `pathOnly()` makes one: a private brand tells it apart from a
 * custom `Reader<string>`.
 *
 * @example
 * ```ts
 * import { loaders, type PathOnlyLoader } from "jsr:@pivot/core";
 *
 * const asPath: PathOnlyLoader = loaders.pathOnly();
 * ```
 */
export interface PathOnlyLoader extends Reader<string> {
  /** @ignore */
  readonly [PATH_ONLY]: true;
  /** @ignore */
  readonly [LOADER_SPEC]: LoaderSpec;
}

function builtin<T>(
  kind: string,
  options: Record<string, unknown>,
  load: (path: string) => T | Promise<T>,
  save: (value: T, path: string) => void | Promise<void>,
): BuiltinLoader<T> {
  return {
    load: async (path) => await load(path),
    save: async (value, path) => await save(value, path),
    [LOADER_SPEC]: { kind, options },
  };
}

/**
 * The maker of a loader without options: each call returns a new object (as
 * every loader function does), but its functions and spec are made once. A
 * generated pipeline calls `loaders.text()` tens of thousands of times at
 * import; three closures and two objects a call showed in the profile.
 */
function withoutOptions<T>(
  kind: string,
  load: (path: string) => T | Promise<T>,
  save: (value: T, path: string) => void | Promise<void>,
): () => BuiltinLoader<T> {
  const parts = builtin(kind, Object.freeze({}), load, save);
  const spec = Object.freeze(parts[LOADER_SPEC]);
  return () => {
    // The symbol set after the literal: a computed key in it costs more.
    const loader = { load: parts.load, save: parts.save } as BuiltinLoader<T>;
    (loader as { [LOADER_SPEC]: LoaderSpec })[LOADER_SPEC] = spec;
    return loader;
  };
}

// The built-in loaders read and write files synchronously. They run in a
// stage's worker, whose thread has nothing else to do meanwhile; an
// asynchronous read or write waits for a thread of Deno's blocking pool and
// then for the worker's event loop, which on a loaded machine costs more
// than reading a small file (docs/performance.md, "Full runs").
const readText = (path: string): string => Deno.readTextFileSync(path);
const readBytes = (path: string): Uint8Array => Deno.readFileSync(path);
const writeText = (path: string, text: string): void => Deno.writeTextFileSync(path, text);
const writeBytes = (path: string, bytes: Uint8Array): void => Deno.writeFileSync(path, bytes);

/**
 * Options of `loaders.json()`.
 *
 * @example
 * ```ts
 * import { type JsonOptions, loaders } from "jsr:@pivot/core";
 *
 * const compact: JsonOptions = { indent: 0 };
 * const loader = loaders.json(compact);
 * ```
 */
export interface JsonOptions {
  /** Indentation of the written file, in spaces (default 2; 0 writes one line). */
  indent?: number | undefined;
}

/**
 * JSON files: `load` parses the file, `save` writes the value indented (see
 * {@link JsonOptions}) and ends the file with a newline.
 *
 * @typeParam T The parsed value's type. It is trusted, not validated: for a
 * checked shape, validate in the run function.
 * @param options How the file is written.
 * @returns A loader for deps and outs; its options are part of the stage
 * fingerprint.
 *
 * @example
 * ```ts
 * import { loaders, out } from "jsr:@pivot/core";
 * import assert from "node:assert/strict";
 *
 * const model = out("model.json", loaders.json<{ w: number }>());
 *
 * const path = await Deno.makeTempFile();
 * await model.loader.save({ w: 0.5 }, path);
 * assert.equal(await Deno.readTextFile(path), '{\n  "w": 0.5\n}\n');
 * assert.deepEqual(await loaders.json().load(path), { w: 0.5 });
 * await Deno.remove(path);
 * ```
 */
export function json<T = unknown>(options?: JsonOptions): BuiltinLoader<T> {
  const indent = options?.indent ?? 2;
  return builtin<T>(
    "json",
    { indent },
    (path) => JSON.parse(readText(path)) as T,
    (value, path) => writeText(path, JSON.stringify(value, null, indent) + "\n"),
  );
}

/**
 * YAML files, parsed and written with the `yaml` package (YAML 1.2).
 *
 * @typeParam T The parsed value's type; trusted, not validated.
 * @returns A loader for deps and outs.
 *
 * @example
 * ```ts
 * import { dep, loaders } from "jsr:@pivot/core";
 * import assert from "node:assert/strict";
 *
 * const config = dep("config.yaml", loaders.yaml<{ epochs: number }>());
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "epochs: 10\n");
 * assert.deepEqual(await config.loader.load(path), { epochs: 10 });
 * await Deno.remove(path);
 * ```
 */
export function yaml<T = unknown>(): BuiltinLoader<T> {
  return builtin<T>(
    "yaml",
    {},
    async (path) => {
      const { parse } = await import("yaml");
      return parse(readText(path)) as T;
    },
    async (value, path) => {
      const { stringify } = await import("yaml");
      writeText(path, stringify(value));
    },
  );
}

/**
 * JSON Lines: an array of values, one JSON value a line. Blank lines are
 * skipped when reading; each value is written on its own line.
 *
 * @typeParam T The type of one line's value; trusted, not validated.
 * @returns A loader of `T[]` for deps and outs.
 *
 * @example
 * ```ts
 * import { loaders, out } from "jsr:@pivot/core";
 * import assert from "node:assert/strict";
 *
 * const events = out("events.jsonl", loaders.jsonl<{ id: number }>());
 *
 * const path = await Deno.makeTempFile();
 * await events.loader.save([{ id: 1 }, { id: 2 }], path);
 * assert.equal(await Deno.readTextFile(path), '{"id":1}\n{"id":2}\n');
 * await Deno.remove(path);
 * ```
 */
export function jsonl<T = unknown>(): BuiltinLoader<T[]> {
  return builtin<T[]>(
    "jsonl",
    {},
    (path) => {
      const lines = (readText(path)).split("\n");
      const rows: T[] = [];
      for (const [index, line] of lines.entries()) {
        if (line.trim() === "") continue;
        try {
          rows.push(JSON.parse(line) as T);
        } catch (error) {
          // Which line, so that a file that is not JSON Lines (one JSON document
          // spread over lines) is recognised as such.
          throw new SyntaxError(`line ${index + 1}: ${(error as Error).message}`);
        }
      }
      return rows;
    },
    (rows, path) => writeText(path, rows.map((row) => JSON.stringify(row) + "\n").join("")),
  );
}

/**
 * UTF-8 text, read and written as it is.
 *
 * @returns A loader of strings for deps and outs.
 *
 * @example
 * ```ts
 * import { dep, loaders, Pipeline } from "jsr:@pivot/core";
 *
 * export const pipeline = new Pipeline("text_demo");
 * pipeline.stage({
 *   name: "shout",
 *   deps: { words: dep("words.txt", loaders.text()) },
 *   run: ({ words }) => console.log(words.toUpperCase()),
 * });
 * ```
 */
export function text(): BuiltinLoader<string> {
  return makeText();
}

const makeText = withoutOptions<string>(
  "text",
  (path) => readText(path),
  (value, path) => writeText(path, value),
);

/**
 * Raw bytes, read and written as they are.
 *
 * @returns A loader of `Uint8Array` for deps and outs.
 *
 * @example
 * ```ts
 * import { loaders, out } from "jsr:@pivot/core";
 * import assert from "node:assert/strict";
 *
 * const blob = out("blob.bin", loaders.bytes());
 *
 * const path = await Deno.makeTempFile();
 * await blob.loader.save(new Uint8Array([0, 255]), path);
 * assert.deepEqual(await Deno.readFile(path), new Uint8Array([0, 255]));
 * await Deno.remove(path);
 * ```
 */
export function bytes(): BuiltinLoader<Uint8Array> {
  return makeBytes();
}

const makeBytes = withoutOptions<Uint8Array>(
  "bytes",
  (path) => readBytes(path),
  (value, path) => writeBytes(path, value),
);

/**
 * The type a CSV column is converted to when read: `"number"` (an empty cell
 * reads as `NaN`), `"boolean"` (`true`/`1`, `false`/`0`/empty) or `"string"`.
 *
 * @example
 * ```ts
 * import type { CsvColumnType } from "jsr:@pivot/core";
 *
 * const columns: Record<string, CsvColumnType> = { score: "number", passed: "boolean" };
 * ```
 */
export type CsvColumnType = "string" | "number" | "boolean";

/**
 * The TypeScript type of a column converted as `C`: `number`, `boolean` or
 * `string`.
 *
 * @typeParam C The column's {@link CsvColumnType}.
 *
 * @example
 * ```ts
 * import type { CsvColumnValue } from "jsr:@pivot/core";
 *
 * const score: CsvColumnValue<"number"> = 0.9;
 * ```
 */
export type CsvColumnValue<C extends CsvColumnType> = C extends "number" ? number
  : C extends "boolean" ? boolean
  : string;

/**
 * A CSV row read with typed `columns`: each of those columns has its
 * converted type, every other column is a string.
 *
 * @typeParam C The `columns` option, such as `{ value: "number" }`.
 *
 * @example
 * ```ts
 * import type { CsvRow } from "jsr:@pivot/core";
 *
 * function describe(row: CsvRow<{ value: "number" }>): string {
 *   return `${row.label}: ${row.value.toFixed(1)}`; // row.value is a number, row.label a string
 * }
 * ```
 */
export type CsvRow<C extends Record<string, CsvColumnType>> =
  & Record<string, string>
  & { [K in keyof C]: CsvColumnValue<C[K]> };

/**
 * Options of `loaders.csv()`.
 *
 * @typeParam C The `columns` option, which types the rows.
 *
 * @example
 * ```ts
 * import { type CsvOptions, loaders } from "jsr:@pivot/core";
 *
 * const tsv = { separator: "\t", columns: { score: "number" } } satisfies CsvOptions;
 * const scores = loaders.csv(tsv); // rows typed { score: number } & Record<string, string>
 * ```
 */
export interface CsvOptions<
  C extends Record<string, CsvColumnType> = Record<string, CsvColumnType>,
> {
  /** Field separator, read and written (default `,`; `"\t"` for TSV). */
  separator?: string | undefined;
  /** Columns to convert from text, such as `{ value: "number" }`; others stay strings. */
  columns?: C | undefined;
}

/**
 * CSV with a header row, read as an array of records (one per row, keyed by
 * header) and written from one; parsed and written with `csv-parse` and
 * `csv-stringify`. The header written is every key any row has, in order of
 * first appearance.
 *
 * With `columns`, the named columns are converted and typed; a cell that
 * does not convert fails the load with a message naming the file and column.
 *
 * @typeParam C The `columns` option.
 * @param options The separator and the typed columns.
 * @returns A loader of typed rows for deps and outs.
 *
 * @example Typed columns
 * ```ts
 * import { dep, loaders } from "jsr:@pivot/core";
 * import assert from "node:assert/strict";
 *
 * const raw = dep("data.csv", loaders.csv({ columns: { value: "number" } }));
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "id,value\na,1.5\nb,2\n");
 * const rows = await raw.loader.load(path); // { value: number } & Record<string, string>
 * assert.deepEqual(rows, [{ id: "a", value: 1.5 }, { id: "b", value: 2 }]);
 * await Deno.remove(path);
 * ```
 */
export function csv<C extends Record<string, CsvColumnType>>(
  options: CsvOptions<C> & { columns: C },
): BuiltinLoader<CsvRow<C>[]>;
/**
 * CSV rows of a type you state, trusted like `json<T>()`: every cell is read
 * as a string. With neither a type nor `columns`, rows are untyped.
 *
 * @typeParam R The row type.
 * @param options The separator.
 * @returns A loader of rows for deps and outs.
 *
 * @example A row type you state
 * ```ts
 * import { loaders, out } from "jsr:@pivot/core";
 * import assert from "node:assert/strict";
 *
 * type Row = { id: string; label: string };
 * const table = out("table.tsv", loaders.csv<Row>({ separator: "\t" }));
 *
 * const path = await Deno.makeTempFile();
 * await table.loader.save([{ id: "1", label: "one" }], path);
 * assert.equal(await Deno.readTextFile(path), "id\tlabel\n1\tone\n");
 * await Deno.remove(path);
 * ```
 */
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
      const records = parse(readText(path), {
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
      writeText(
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
 * Options of `loaders.files()`.
 *
 * @example
 * ```ts
 * import { type FilesOptions, loaders } from "jsr:@pivot/core";
 *
 * const asText = { text: true } satisfies FilesOptions;
 * const pages = loaders.files(asText); // a loader of Record<string, string>
 * ```
 */
export interface FilesOptions {
  /** Contents as UTF-8 strings instead of bytes (default `false`). */
  text?: boolean | undefined;
}

/**
 * A directory as an object of its files: relative path (`sub/a.txt`) →
 * content. For a directory dep or out (a path ending in `/`).
 *
 * As an out, the stage returns the object and Pivot writes the files: with
 * the permissions of Pivot, not of the stage's sandbox, straight into the
 * cache and the workspace, each file hashed from memory and written once.
 * For thousands of small files this is much faster than writing them at
 * `ctx.outs.<name>` (docs/returned_files.md). Paths must stay inside the
 * directory (relative, no `..`, no path both a file and a directory of
 * another); a wrong one fails the stage, naming it, and nothing is written.
 * As a dep, the stage receives every file of the directory, read whole.
 *
 * @param options `{ text: true }` for string contents (UTF-8).
 * @returns A loader of `Record<string, string>` for deps and outs.
 *
 * @example A stage that returns a directory of text files
 * ```ts
 * import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
 *
 * export const pipeline = new Pipeline("files_demo");
 * pipeline.stage({
 *   name: "split",
 *   deps: { words: dep("words.txt", loaders.text()) },
 *   outs: { pages: out("pages/", loaders.files({ text: true })) },
 *   run: ({ words }) => ({
 *     pages: Object.fromEntries(
 *       words.split("\n").filter((w) => w !== "").map((w) => [`${w[0]}/${w}.txt`, `${w}\n`]),
 *     ),
 *   }),
 * });
 * ```
 */
export function files(
  options: FilesOptions & { text: true },
): BuiltinLoader<Record<string, string>>;
/**
 * A directory as an object of its files: relative path → bytes. See the
 * `{ text: true }` form above for what Pivot does with it.
 *
 * @param options Nothing, or `{ text: false }`.
 * @returns A loader of `Record<string, Uint8Array>` for deps and outs.
 *
 * @example Save and load a directory of bytes
 * ```ts
 * import { loaders } from "jsr:@pivot/core";
 * import assert from "node:assert/strict";
 *
 * const tiles = loaders.files();
 * const dir = await Deno.makeTempDir();
 * await tiles.save({ "0/0.bin": new Uint8Array([1, 2]), "0/1.bin": new Uint8Array([3]) }, dir);
 * assert.deepEqual(await tiles.load(dir), {
 *   "0/0.bin": new Uint8Array([1, 2]),
 *   "0/1.bin": new Uint8Array([3]),
 * });
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function files(
  options?: FilesOptions & { text?: false },
): BuiltinLoader<Record<string, Uint8Array>>;
/**
 * A directory as an object of its files, text or bytes as `options.text`
 * decides when it is known only at run time.
 *
 * @param options `{ text }`, a boolean.
 * @returns A loader of `Record<string, string | Uint8Array>` for deps and outs.
 *
 * @example
 * ```ts
 * import { type FilesOptions, loaders } from "jsr:@pivot/core";
 *
 * const options: FilesOptions = { text: Deno.args.includes("--text") };
 * const pages = loaders.files(options);
 * ```
 */
export function files(options?: FilesOptions): BuiltinLoader<Record<string, string | Uint8Array>>;
export function files(
  options: FilesOptions = {},
):
  | BuiltinLoader<Record<string, string>>
  | BuiltinLoader<Record<string, Uint8Array>>
  | BuiltinLoader<Record<string, string | Uint8Array>> {
  const text = options.text ?? false;
  return builtin<Record<string, string | Uint8Array>>(
    FILES_KIND,
    { text },
    (path) => {
      const read: Record<string, string | Uint8Array> = {};
      for (const rel of listFiles(path)) {
        read[rel] = text ? readText(`${path}/${rel}`) : readBytes(`${path}/${rel}`);
      }
      return read;
    },
    (value, path) => {
      // Checked as Pivot checks a returned value: nothing is written when a path is wrong.
      const returned = returnedFiles(value);
      const { paths } = returned;
      const base = path.endsWith("/") ? path : `${path}/`;
      Deno.mkdirSync(path, { recursive: true });
      const made = new Set<string>();
      for (const [i, file] of paths.entries()) {
        const slash = file.lastIndexOf("/");
        const parent = slash === -1 ? "" : file.slice(0, slash);
        if (parent !== "" && !made.has(parent)) {
          Deno.mkdirSync(base + parent, { recursive: true });
          made.add(parent);
        }
        writeBytes(base + file, contentOf(returned, i));
      }
    },
  ) as BuiltinLoader<Record<string, Uint8Array>>;
}

/**
 * The stage handles the file itself: a dep gives the stage the file's
 * absolute path; an out is written by the stage at `ctx.outs.<name>` and
 * needs no returned value. This is the default loader of `dep()` and of an
 * out declared without one; use it for files no built-in loader reads
 * (images, models, archives) or that a tool writes.
 *
 * @returns The path-only loader.
 *
 * @example
 * ```ts
 * import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
 *
 * export const pipeline = new Pipeline("path_only_demo");
 * pipeline.stage({
 *   name: "copy",
 *   deps: { source: dep("image.png", loaders.pathOnly()) },
 *   outs: { copy: out("copy.png", loaders.pathOnly()) },
 *   // Both values are absolute paths; the stage returns nothing.
 *   run: ({ source }, ctx) => Deno.copyFile(source, ctx.outs.copy),
 * });
 * ```
 */
export function pathOnly(): PathOnlyLoader {
  return { load: loadPath, [PATH_ONLY]: true, [LOADER_SPEC]: PATH_ONLY_SPEC };
}

const loadPath = (path: string): string => path;
const PATH_ONLY_SPEC: LoaderSpec = Object.freeze({
  kind: "pathOnly",
  options: Object.freeze({}),
});
