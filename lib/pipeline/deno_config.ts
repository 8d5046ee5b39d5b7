/**
 * Finding the user's `deno.json`, without `node:path`: the launcher of every
 * command does it before anything else (see `lib/cli/launcher.ts`).
 *
 * @module
 */

import { isFile, parentDir } from "../paths.ts";

/**
 * The `deno.json` (or `deno.jsonc`) nearest to the absolute directory `dir`,
 * in it or above it, as Deno finds a config: the one that applies to code
 * there.
 *
 * @example
 * ```ts ignore
 * findDenoConfig("/home/me/project/src"); // "/home/me/project/deno.json"
 * ```
 */
export function findDenoConfig(dir: string): string | undefined {
  for (let at = dir;; at = parentDir(at)) {
    for (const name of ["deno.json", "deno.jsonc"]) {
      const file = at === "/" ? `/${name}` : `${at}/${name}`;
      if (isFile(file)) return file;
    }
    if (at === "/") return undefined;
  }
}
