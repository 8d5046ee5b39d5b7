/**
 * The `pivot` command.
 *
 * ```sh
 * deno run -A jsr:@pivot/cli repro
 * deno run -A /path/to/pivot/cli.ts repro
 * ```
 *
 * @module
 */

import { launch } from "./lib/cli/launcher.ts";

/**
 * Run the `pivot` command line with `args`; resolves with the exit code.
 * Pivot may re-execute itself in a child `deno` process that loads your
 * pipeline with your `deno.json` (see docs/architecture.md).
 */
export function pivot(args: readonly string[]): Promise<number> {
  return launch(args, import.meta.url);
}

if (import.meta.main) {
  Deno.exit(await pivot(Deno.args));
}
