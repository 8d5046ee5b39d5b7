/**
 * Saying where a module failed to import. A pipeline file imports helpers,
 * which import others; when any of them has a syntax error, imports a file
 * that does not exist, or throws while it is evaluated, `import()` of the
 * pipeline rejects, and the error must name the module at fault, with its
 * line and column, not the pipeline file that started the import.
 *
 * Deno puts that place in different spots: a syntax error's message ends
 * with `at file:///…/model.ts:1:38` (after a code frame), a missing module's
 * message with the importing file's position, and an error thrown during
 * evaluation carries it in its stack. Positions are already source-mapped
 * to the TypeScript file.
 *
 * @module
 */

import { relative } from "../posix_path.ts";
import { messageOf } from "../errors.ts";
import { isOwnCode } from "../own_code.ts";
import { fromFileUrl } from "../paths.ts";

/** Where and what went wrong in an import. */
export interface ImportFailure {
  /** `lib/model.ts:1:38` (project-relative when inside the project), if known. */
  readonly where: string | undefined;
  /** The file of {@link where}, absolute, if known. */
  readonly file: string | undefined;
  /** The error, one line: `SyntaxError: Expression expected`. */
  readonly what: string;
  /** For a module that does not exist: its path (absolute). */
  readonly missing: string | undefined;
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const POSITION = /(file:\/\/\/[^\s)'"]+?):(\d+):(\d+)/g;

/**
 * What a rejected `import()` says, with the failing module's position made
 * relative to `projectRoot` when it lies inside.
 *
 * @example
 * ```ts
 * const failure = describeImportError(error, "/p");
 * // { where: "lib/model.ts:1:38", what: "SyntaxError: Expression expected", … }
 * ```
 */
export function describeImportError(error: unknown, projectRoot: string): ImportFailure {
  const message = messageOf(error).replace(ANSI, "");
  const stack = (error instanceof Error ? error.stack ?? "" : "").replace(ANSI, "");
  // The message's own position (syntax errors, missing modules) wins; else
  // the first frame of the stack in code that is not Pivot's (an error
  // thrown while a module is evaluated).
  const positions = [...message.matchAll(POSITION), ...stack.matchAll(POSITION)];
  const found = positions.find(([, url]) => !isOwnCode(url));
  const file = found ? fromFileUrl(found[1]) : undefined;
  const shown = file === undefined
    ? undefined
    : file.startsWith(projectRoot + "/")
    ? relative(projectRoot, file)
    : file;
  const missingUrl = /Module not found "([^"]+)"/.exec(message)?.[1];
  return {
    where: found ? `${shown}:${found[2]}:${found[3]}` : undefined,
    file,
    what: headline(message, error),
    missing: missingUrl?.startsWith("file:") ? fromFileUrl(missingUrl) : undefined,
  };
}

/** The error's first line, without Deno's wrapping (`TypeError: SyntaxError: …`). */
function headline(message: string, error: unknown): string {
  const first = message.split("\n").find((line) => line.trim() !== "")?.trim() ?? message;
  const line = first.replace(/\s+at file:\/\/\/\S+$/, "");
  // A syntax error arrives as a TypeError whose message starts "SyntaxError: ".
  if (/^[A-Z]\w*Error: /.test(line)) return line;
  const name = error instanceof Error ? error.name : "Error";
  return `${name}: ${line}`;
}

/**
 * One line for a module that failed to import while `entry` was being
 * loaded: the failing module's position and the error, then which file was
 * being loaded when that is another one.
 *
 * @example
 * ```ts
 * importErrorLine(error, "/p/pipeline.ts", "/p");
 * // "lib/model.ts:1:38: SyntaxError: Expression expected (while loading pipeline.ts)"
 * ```
 */
export function importErrorLine(error: unknown, entry: string, projectRoot: string): string {
  const failure = describeImportError(error, projectRoot);
  const shown = (path: string) =>
    path.startsWith(projectRoot + "/") ? relative(projectRoot, path) : path;
  const line = failure.missing !== undefined
    ? `${failure.where ?? shown(entry)}: imports ${shown(failure.missing)}, which does not exist`
    : `${failure.where ?? `${shown(entry)}: failed to load`}: ${failure.what}`;
  return failure.file === undefined || failure.file === entry
    ? line
    : `${line} (while loading ${shown(entry)})`;
}
