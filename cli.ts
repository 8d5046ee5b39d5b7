/**
 * The `pivot` command, and {@link pivot} to run it from code.
 *
 * ```sh
 * deno run -A jsr:@pivot/cli repro
 * deno run -A /path/to/pivot/cli.ts repro
 * ```
 *
 * @example Run Pivot from a script
 * ```ts
 * import { pivot } from "jsr:@pivot/core/cli";
 *
 * if (import.meta.main) Deno.exit(await pivot(["status"]));
 * ```
 *
 * @module
 */

import { launch } from "./lib/cli/launcher.ts";

/**
 * Run the `pivot` command line with `args`, as the `pivot` command does,
 * printing to this process's stdout and stderr.
 *
 * Pivot loads your pipeline with your project's `deno.json` (import map, npm
 * dependencies, compiler options) and switches on the unstable APIs it uses,
 * so it may re-execute itself in a child `deno` process that can. It needs
 * every permission (`-A`): it reads and writes the project, runs stages in
 * workers and starts `deno` processes.
 *
 * @param args The command line, without the program name, such as
 * `["repro", "train"]`.
 * @returns The exit code: 0 on success; 1 when a stage or a check (such as
 * `verify` or `status --check`) failed; 2 for a usage, config or pipeline
 * error; 70 for an unexpected internal error (a bug in Pivot).
 *
 * @example
 * ```ts
 * import { pivot } from "jsr:@pivot/core/cli";
 * import assert from "node:assert/strict";
 *
 * const code = await pivot(["--version"]); // prints "pivot 0.1.0"
 * assert.equal(code, 0);
 * ```
 */
export function pivot(args: readonly string[]): Promise<number> {
  return launch(args, import.meta.url);
}

if (import.meta.main) {
  Deno.exit(await pivot(Deno.args));
}
