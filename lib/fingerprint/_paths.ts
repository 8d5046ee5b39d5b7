/**
 * POSIX path helpers. (Not `node:path`/`node:url`: loading Node compatibility
 * costs ~8 ms of start-up, and the warm path must stay in single-digit ms.)
 *
 * @module
 */

/** The directory part of an absolute path. */
export function dirname(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? "/" : path.slice(0, slash);
}

/** `path` resolved against the absolute directory `base`, normalised. */
export function resolvePath(base: string, path: string): string {
  const parts: string[] = [];
  for (const part of (path.startsWith("/") ? path : `${base}/${path}`).split("/")) {
    if (part === "..") parts.pop();
    else if (part !== "" && part !== ".") parts.push(part);
  }
  return "/" + parts.join("/");
}

/** `path` (absolute) relative to `root` (absolute), with `../` when outside it. */
export function relativePath(root: string, path: string): string {
  const from = root.split("/").filter(Boolean);
  const to = path.split("/").filter(Boolean);
  let common = 0;
  while (common < from.length && common < to.length && from[common] === to[common]) common++;
  return [...Array(from.length - common).fill(".."), ...to.slice(common)].join("/");
}
