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
