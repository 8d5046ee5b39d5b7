/**
 * Small path helpers shared by every layer. (Not `node:url`: importing it
 * costs ~5 ms of start-up, on every command.)
 *
 * @module
 */

/** The `file://` URL of an absolute POSIX path. */
export function toFileUrl(path: string): string {
  return "file://" + path.split("/").map(encodeURIComponent).join("/");
}

/** The absolute path of a `file://` URL. */
export function fromFileUrl(url: string): string {
  return decodeURIComponent(new URL(url).pathname);
}

/** `Deno.statSync(path)`, or undefined when nothing is there. */
export function statOrUndefined(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** `Deno.lstatSync(path)` (not following a symlink), or undefined when nothing is there. */
export function lstatOrUndefined(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** True when something exists at `path` (following symlinks). */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** True when `path` is a directory (following symlinks). */
export function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/** True when `path` is a file (following symlinks). */
export function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * The parent directory of the absolute POSIX `path` (`/` for `/`), as
 * `node:path`'s `dirname`, for the launcher, which avoids loading `node:path`
 * (about 15 ms of CPU at start-up).
 *
 * @example
 * ```ts
 * parentDir("/home/me/project"); // "/home/me"
 * ```
 */
export function parentDir(path: string): string {
  const trimmed = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  const at = trimmed.lastIndexOf("/");
  return at <= 0 ? "/" : trimmed.slice(0, at);
}

/**
 * `path` made absolute against the absolute `base` and normalized (`.` and
 * `..` resolved, no trailing `/`), as `node:path`'s `resolve(base, path)`
 * for POSIX paths.
 *
 * @example
 * ```ts
 * absolutePath("/home/me", "../you/./p/"); // "/home/you/p"
 * ```
 */
export function absolutePath(base: string, path: string): string {
  const parts: string[] = [];
  for (const part of (path.startsWith("/") ? path : `${base}/${path}`).split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/**
 * Which of `paths` have an entry in their directory, found by one listing
 * of each directory instead of a `stat` of each path: a `stat` of a missing
 * path builds a `NotFound` error, which costs several times a successful
 * one. An entry made after the listing is missed, an entry removed is still
 * listed: for callers to whom either is harmless.
 *
 * @example
 * ```ts ignore
 * const listed = listedPaths(["/p/.pivot/stages/a.lock", "/p/.pivot/stages/b.lock"]);
 * listed.has("/p/.pivot/stages/a.lock");
 * ```
 */
export function listedPaths(paths: Iterable<string>): Set<string> {
  const byDir = new Map<string, string[]>();
  for (const path of paths) {
    const dir = parentDir(path);
    const inDir = byDir.get(dir);
    if (inDir === undefined) byDir.set(dir, [path]);
    else inDir.push(path);
  }
  const listed = new Set<string>();
  for (const [dir, inDir] of byDir) {
    const names = new Set<string>();
    try {
      for (const entry of Deno.readDirSync(dir)) names.add(entry.name);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory)) {
        throw error;
      }
    }
    const skip = dir === "/" ? 1 : dir.length + 1;
    for (const path of inDir) if (names.has(path.slice(skip))) listed.add(path);
  }
  return listed;
}
