/**
 * Whether the user's lock file already records every npm package Pivot's
 * commands use, so that the launcher's child may load Pivot's modules lazily.
 *
 * Deno records a package in the lock file of the config it runs with when it
 * first resolves it. Without `--unstable-lazy-dynamic-imports`, Deno follows
 * every written-out `import()` at start-up, so the first command in a project
 * records all of Pivot's packages at once (a later read-only command such as
 * `data diff` then changes nothing). With the flag, Deno loads a command's
 * modules only when it runs (fewer modules for a no-op), but a package is
 * recorded on its first use: in the middle of a command, or of a watch wave,
 * where the lock file's change counts as a change of code. So the child runs
 * lazily only once the lock holds every package of {@link PIVOT_PACKAGES}
 * (or the config keeps no lock); otherwise as before, which records them.
 *
 * @module
 */

import { readJsoncObject } from "../jsonc.ts";
import { absolutePath, parentDir } from "../paths.ts";

/**
 * The npm packages Deno records when it loads `lib/cli/main.ts` and every
 * module it can reach, as Pivot's `deno.json` pins them (a test checks this
 * list against a new project's lock file and against `deno.json`).
 */
export const PIVOT_PACKAGES: readonly string[] = [
  "npm:@dagrejs/dagre@3.1.3",
  "npm:aws4fetch@1.0.20",
  "npm:csv-parse@7.0.3",
  "npm:csv-stringify@6.9.0",
  "npm:ignore@7.0.5",
  "npm:typescript@6.0.3",
  "npm:yaml@2.9.1",
];

/**
 * True when a process run with the config file `configPath` records nothing
 * new in a lock file by loading Pivot's modules: the config keeps no lock
 * (`"lock": false`), or its lock file names every package of
 * {@link PIVOT_PACKAGES}. False when unsure (no lock yet, unreadable files).
 *
 * @example
 * ```ts ignore
 * if (lockHoldsPivotPackages("/home/me/project/deno.json")) flags.push("--unstable-lazy-dynamic-imports");
 * ```
 */
export function lockHoldsPivotPackages(configPath: string): boolean {
  const config = readJsoncObject(configPath);
  if (config === undefined) return false;
  const lock = config.lock;
  if (lock === false) return true;
  const path = typeof lock === "string"
    ? lock
    : typeof lock === "object" && lock !== null && "path" in lock &&
        typeof lock.path === "string"
    ? lock.path
    : "deno.lock";
  let text: string;
  try {
    text = Deno.readTextFileSync(absolutePath(parentDir(configPath), path));
  } catch {
    return false;
  }
  return PIVOT_PACKAGES.every((specifier) => text.includes(`"${specifier}"`));
}
