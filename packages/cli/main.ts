/**
 * The `pivot` command, as its own JSR package (`jsr:@pivot/cli`), so that
 *
 * ```sh
 * deno run -A jsr:@pivot/cli repro
 * deno install -A -g -n pivot jsr:@pivot/cli
 * ```
 *
 * work. It is a thin shell over `@pivot/core/cli`, where the command lives.
 *
 * @module
 */

import { pivot } from "@pivot/core/cli";

if (import.meta.main) {
  Deno.exit(await pivot(Deno.args));
}
