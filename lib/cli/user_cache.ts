/**
 * Pivot's folder in the user's cache (`$XDG_CACHE_HOME/pivot`, default
 * `~/.cache/pivot`), shared by every project this user's Pivot runs in:
 * import maps for a checkout's sources, the sources a binary extracts, and
 * the user-global analysis cache (docs/fingerprinting.md, "Three caches").
 * What is in it can be deleted at any time; only speed depends on it.
 *
 * @module
 */

import { mark } from "../trace.ts";

/**
 * Pivot's folder in the user's cache: `$XDG_CACHE_HOME/pivot` (default
 * `~/.cache/pivot`); without a home folder, a folder of this user's in the
 * system's temporary folder.
 *
 * @example
 * ```ts ignore
 * cacheRoot(); // "/home/me/.cache/pivot"
 * ```
 */
export function cacheRoot(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return `${xdg}/pivot`;
  const home = Deno.env.get("HOME");
  if (home) return `${home}/.cache/pivot`;
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  return `${tmp}/pivot-${Deno.uid() ?? "user"}`;
}

/**
 * The folder `name` in {@link cacheRoot}, made (mode 0700) when missing.
 * Throws when it cannot be made, or when it or Pivot's folder belongs to
 * another user (whoever owns them could plant what Pivot reads there).
 *
 * @example
 * ```ts ignore
 * userCacheFolder("import-maps"); // "/home/me/.cache/pivot/import-maps"
 * ```
 */
export function userCacheFolder(name: string): string {
  const root = cacheRoot();
  const folder = `${root}/${name}`;
  Deno.mkdirSync(folder, { recursive: true, mode: 0o700 });
  for (const path of [root, folder]) {
    const owner = Deno.lstatSync(path).uid;
    if (owner !== null && owner !== Deno.uid()) {
      throw new Error(`${path} belongs to another user: set XDG_CACHE_HOME to a folder of yours`);
    }
  }
  return folder;
}

/**
 * The folder of the user-global analysis cache (`analyses` in
 * {@link cacheRoot}), or undefined when it is off: `PIVOT_USER_CACHE=off`,
 * or a folder that cannot be made or is another user's (then a trace line
 * says why; the run goes on without it). For `FingerprintOptions.userCache`:
 * called only when a module's analysis is missing from the project's state.
 *
 * @example
 * ```ts ignore
 * analysisCacheFolder(); // "/home/me/.cache/pivot/analyses"
 * ```
 */
export function analysisCacheFolder(): string | undefined {
  if (Deno.env.get("PIVOT_USER_CACHE") === "off") {
    mark("fingerprint: user cache off (PIVOT_USER_CACHE=off)");
    return undefined;
  }
  try {
    return userCacheFolder("analyses");
  } catch (error) {
    mark(`fingerprint: user cache off: ${(error as Error).message}`);
    return undefined;
  }
}
