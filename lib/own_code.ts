/**
 * Pivot's own code: where its sources are (a checkout, the sources a binary
 * extracted, or JSR) and which modules are Pivot's rather than the user's.
 *
 * One definition, because three places must agree: the stage call-site
 * finder skips Pivot's frames, the fingerprint does not track Pivot's
 * modules, and stage workers may read them. Pivot's code is `mod.ts` and
 * `lib/` only, not the whole checkout: its examples, tests and benchmarks
 * hold pipelines of their own (counting them as Pivot's once silently
 * dropped their code tracking; see docs/lessons.md).
 *
 * @module
 */

import { jsrUrl } from "./jsr.ts";
import { fromFileUrl, toFileUrl } from "./paths.ts";

const ROOT = new URL("../", import.meta.url);

/** True when Pivot runs from local files (a checkout, or sources extracted by a binary). */
export const PIVOT_IS_LOCAL: boolean = ROOT.protocol === "file:";

/**
 * Pivot's source root (the directory holding `mod.ts`): a path without a
 * trailing slash when Pivot runs from local files, the package's URL when it
 * runs from JSR.
 */
export const PIVOT_ROOT: string = PIVOT_IS_LOCAL
  ? fromFileUrl(ROOT.href).replace(/\/$/, "")
  : ROOT.href;

/** The name of Pivot's package on JSR. */
export const PIVOT_PACKAGE = "@pivot/core";

/** Every published version of Pivot's package, in the JSR registry Deno uses (`JSR_URL`). */
const PUBLISHED = `${jsrUrl()}${PIVOT_PACKAGE}/`;

/**
 * The URL prefixes of Pivot's own modules for a Pivot whose source root is
 * `root` (a path or a URL): its `mod.ts` and `lib/`, and any published
 * version of the package.
 *
 * @example
 * ```ts
 * ownCodePrefixes("/opt/pivot");
 * // ["file:///opt/pivot/mod.ts", "file:///opt/pivot/lib/", "https://jsr.io/@pivot/core/"]
 * ```
 */
export function ownCodePrefixes(root: string = PIVOT_ROOT): string[] {
  const url = /^[a-z]+:/i.test(root) ? root : toFileUrl(root);
  const base = url.endsWith("/") ? url : url + "/";
  return [`${base}mod.ts`, `${base}lib/`, PUBLISHED];
}

const OWN = ownCodePrefixes();

/** True when the module at `url` is Pivot's own (of the running Pivot, or published). */
export function isOwnCode(url: string): boolean {
  return OWN.some((prefix) => url.startsWith(prefix));
}

/**
 * The local files of Pivot's own modules (`mod.ts` and `lib/`), which a
 * user's pipeline imports: a stage worker needs read access to them. Empty
 * when Pivot runs from JSR (remote modules need no read access).
 */
export function ownCodePaths(): string[] {
  return PIVOT_IS_LOCAL ? [`${PIVOT_ROOT}/mod.ts`, `${PIVOT_ROOT}/lib`] : [];
}
