/**
 * Type-checking a pipeline before it runs (`repro --check`, `core.check`).
 * Deno runs TypeScript without checking types, so a run function that
 * returns a string where its out's loader saves `{ w: number }` runs and
 * writes a bad out. `deno check` on the pipeline's modules, with the user's
 * `deno.json`, catches that first; each error becomes one line with its
 * place, and nothing runs.
 *
 * @module
 */

import { relative } from "../posix_path.ts";
import { PivotError } from "../errors.ts";
import type { Project } from "../model/project.ts";
import { isOwnCode } from "../own_code.ts";
import { fromFileUrl } from "../paths.ts";

/** One type error `deno check` reported. */
export interface TypeCheckError {
  /** `TS2322`. */
  readonly code: string;
  /** The first line of its message. */
  readonly message: string;
  /** Its module's URL, if `deno check` gave a place. */
  readonly url: string | undefined;
  /** Its line. */
  readonly line: number | undefined;
  /** Its column. */
  readonly column: number | undefined;
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * Parse the output of `deno check` into its errors (each with the first
 * position given after it, which is the error's own).
 *
 * @example
 * ```ts
 * parseDenoCheck("TS2322 [ERROR]: Type 'string' is not assignable to type 'number'.\n" +
 *   "    at file:///p/pipeline.ts:9:26\n");
 * // [{ code: "TS2322", message: "Type 'string' …", url: "file:///p/pipeline.ts", line: 9, column: 26 }]
 * ```
 */
export function parseDenoCheck(output: string): TypeCheckError[] {
  const errors: TypeCheckError[] = [];
  let current: { code: string; message: string } | undefined;
  for (const raw of output.replace(ANSI, "").split("\n")) {
    const header = /^(TS\d+) \[ERROR\]: (.*)$/.exec(raw);
    if (header) {
      if (current) errors.push({ ...current, url: undefined, line: undefined, column: undefined });
      current = { code: header[1], message: header[2].trim() };
      continue;
    }
    const at = /^\s+at (\S+):(\d+):(\d+)\s*$/.exec(raw);
    if (at && current) {
      errors.push({ ...current, url: at[1], line: Number(at[2]), column: Number(at[3]) });
      current = undefined;
    }
  }
  if (current) errors.push({ ...current, url: undefined, line: undefined, column: undefined });
  return errors;
}

/**
 * Run `deno check` (with `denoConfig`, the user's `deno.json`, if any) on
 * the modules at `moduleUrls` (each stage's pipeline file or `pivot.yaml`
 * module) and everything they import.
 *
 * Needs permission to run `deno` (this process's executable).
 *
 * @throws {PivotError} listing each type error in the user's code as
 * `file:line:col: TSnnnn message`, one a line, then a summary line (exit 2).
 * Errors inside Pivot's own modules (possible only under unusual compiler
 * options) are not the user's to fix and are left out.
 */
export async function typeCheckPipeline(
  project: Project,
  moduleUrls: readonly string[],
  denoConfig: string | undefined,
): Promise<void> {
  const files = [...new Set(moduleUrls)].filter((url) => url.startsWith("file:"))
    .map(fromFileUrl);
  if (files.length === 0) return;
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["check", ...(denoConfig ? ["--config", denoConfig] : []), ...files],
    cwd: project.root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (result.success) return;
  const decoder = new TextDecoder();
  const output = decoder.decode(result.stdout) + decoder.decode(result.stderr);
  const errors = parseDenoCheck(output).filter((error) =>
    error.url === undefined || !isOwnCode(error.url)
  );
  if (errors.length === 0) {
    if (parseDenoCheck(output).length > 0) return; // only in Pivot's own modules
    const reason = output.replace(ANSI, "").split("\n")
      .find((line) => /^error: /.test(line))?.replace(/^error: /, "") ?? `exit code ${result.code}`;
    throw new PivotError(`type check (deno check) failed: ${reason}`);
  }
  const place = (error: TypeCheckError) => {
    if (error.url === undefined) return "";
    const path = error.url.startsWith("file:") ? fromFileUrl(error.url) : error.url;
    const shown = path.startsWith(project.root + "/") ? relative(project.root, path) : path;
    return `${shown}:${error.line}:${error.column}: `;
  };
  throw new PivotError(
    [
      ...errors.map((error) => `${place(error)}${error.code} ${error.message}`),
      `type check failed: ${errors.length} error${errors.length === 1 ? "" : "s"} (deno check ${
        files.map((f) => relative(project.root, f)).join(" ")
      }); nothing was run`,
    ].join("\n"),
  );
}
