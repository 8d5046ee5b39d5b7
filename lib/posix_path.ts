/**
 * POSIX path functions with the behaviour of `node:path` on Linux and macOS,
 * for the modules a no-op command loads.
 *
 * The first `node:` import of a process (or the first read of a timer
 * global) makes Deno load its Node compatibility layer, about 10–13 ms of CPU
 * on every command (docs/performance.md, "Start-up cost, sixth session").
 * Nothing else a no-op `repro`, `status` or `list` does needs that layer, so
 * the modules on its path take these instead. Each function returns what
 * `node:path`'s of the same name returns (`tests/posix_path_test.ts` compares
 * them on generated paths); like `node:path` on a POSIX system, `\` is an
 * ordinary character.
 *
 * @module
 */

/** The path separator, `/`. */
export const sep = "/";

/**
 * `path` with `.` and `..` segments resolved and `/` runs collapsed, as
 * `node:path`'s internal `normalizeString`: `..` that climbs above the start
 * is kept when `allowAboveRoot`.
 */
function normalizeSegments(path: string, allowAboveRoot: boolean): string {
  const out: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (allowAboveRoot) out.push("..");
      continue;
    }
    out.push(segment);
  }
  return out.join("/");
}

/**
 * `paths` resolved into an absolute path, right to left until one is
 * absolute, then from the working directory.
 *
 * @example
 * ```ts
 * import { resolve } from "./posix_path.ts";
 *
 * resolve("/a/b", "../c"); // "/a/c"
 * ```
 */
export function resolve(...paths: string[]): string {
  let resolved = "";
  let absolute = false;
  for (let i = paths.length - 1; i >= -1 && !absolute; i--) {
    const path = i >= 0 ? paths[i] ?? "" : Deno.cwd();
    if (path.length === 0) continue;
    resolved = `${path}/${resolved}`;
    absolute = path.charCodeAt(0) === 47;
  }
  const normal = normalizeSegments(resolved, !absolute);
  if (absolute) return `/${normal}`;
  return normal.length > 0 ? normal : ".";
}

/** A `/` run, or a `.` or `..` segment: what {@link normalize} changes. */
const NOT_NORMAL = /\/\/|(?:^|\/)\.\.?(?:\/|$)/;

/**
 * `path` normalized: `.` and `..` segments resolved, `/` runs collapsed, a
 * trailing `/` kept.
 *
 * @example
 * ```ts
 * import { normalize } from "./posix_path.ts";
 *
 * normalize("a//b/../c/"); // "a/c/"
 * ```
 */
export function normalize(path: string): string {
  if (path.length === 0) return ".";
  // Most paths are normal already: returned as they are, not split and joined.
  if (!NOT_NORMAL.test(path)) return path;
  const absolute = path.charCodeAt(0) === 47;
  const trailing = path.charCodeAt(path.length - 1) === 47;
  let normal = normalizeSegments(path, !absolute);
  if (normal.length === 0) {
    if (absolute) return "/";
    return trailing ? "./" : ".";
  }
  if (trailing) normal += "/";
  return absolute ? `/${normal}` : normal;
}

/**
 * True when `path` starts with `/`.
 *
 * @example
 * ```ts
 * import { isAbsolute } from "./posix_path.ts";
 *
 * isAbsolute("/a"); // true
 * ```
 */
export function isAbsolute(path: string): boolean {
  return path.length > 0 && path.charCodeAt(0) === 47;
}

/**
 * `paths` joined with `/` (empty ones left out), then normalized.
 *
 * @example
 * ```ts
 * import { join } from "./posix_path.ts";
 *
 * join("/a", "b/", "../c"); // "/a/c"
 * ```
 */
export function join(...paths: string[]): string {
  const parts = paths.filter((path) => path.length > 0);
  return parts.length === 0 ? "." : normalize(parts.join("/"));
}

/**
 * The relative path from `from` to `to` (both resolved first); `""` when
 * they are the same.
 *
 * @example
 * ```ts
 * import { relative } from "./posix_path.ts";
 *
 * relative("/a/b/c", "/a/d"); // "../../d"
 * ```
 */
export function relative(from: string, to: string): string {
  if (from === to) return "";
  const fromParts = resolve(from).split("/").filter((part) => part.length > 0);
  const toParts = resolve(to).split("/").filter((part) => part.length > 0);
  let common = 0;
  while (
    common < fromParts.length && common < toParts.length &&
    fromParts[common] === toParts[common]
  ) common++;
  const up = fromParts.slice(common).map(() => "..");
  return [...up, ...toParts.slice(common)].join("/");
}

/**
 * `path` without its last segment (trailing `/` ignored): `"/"` for a
 * top-level path, `"."` for one without a `/`. Slashes before the last
 * segment are kept as they are, as `node:path` keeps them.
 *
 * @example
 * ```ts
 * import { dirname } from "./posix_path.ts";
 *
 * dirname("/a/b/"); // "/a"
 * ```
 */
export function dirname(path: string): string {
  if (path.length === 0) return ".";
  const absolute = path.charCodeAt(0) === 47;
  // The last `/` that follows a character other than `/` (index 0 excluded).
  let end = -1;
  let inTrailingSlashes = true;
  for (let i = path.length - 1; i >= 1; i--) {
    if (path.charCodeAt(i) !== 47) inTrailingSlashes = false;
    else if (!inTrailingSlashes) {
      end = i;
      break;
    }
  }
  if (end === -1) return absolute ? "/" : ".";
  if (absolute && end === 1) return "//";
  return path.slice(0, end);
}

/**
 * The last segment of `path` (trailing `/` ignored). (No `suffix` argument:
 * `node:path`'s has corner cases not worth copying; slice the result.)
 *
 * @example
 * ```ts
 * import { basename } from "./posix_path.ts";
 *
 * basename("/a/b.txt/"); // "b.txt"
 * ```
 */
export function basename(path: string): string {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 47) end--;
  if (end === 0) return "";
  return path.slice(path.lastIndexOf("/", end - 1) + 1, end);
}

/**
 * The extension of `path`'s last segment, from its last `.` (`""` when it
 * has none, or only a leading one).
 *
 * @example
 * ```ts
 * import { extname } from "./posix_path.ts";
 *
 * extname("/a/b.tar.gz"); // ".gz"
 * ```
 */
export function extname(path: string): string {
  const base = basename(path);
  const dot = base.lastIndexOf(".");
  if (dot <= 0) return "";
  if (dot === 1 && base === "..") return "";
  return base.slice(dot);
}

/** These functions as one object, as `node:path`'s `posix`. */
export const posix = {
  sep,
  resolve,
  normalize,
  isAbsolute,
  join,
  relative,
  dirname,
  basename,
  extname,
} as const;
