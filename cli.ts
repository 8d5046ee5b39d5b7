/**
 * The `pivot` command.
 *
 * ```sh
 * deno run -A jsr:@pivot/cli repro
 * ```
 *
 * @module
 */

import { launch } from "./lib/cli/launcher.ts";

if (import.meta.main) {
  Deno.exit(await launch(Deno.args, import.meta.url));
}
