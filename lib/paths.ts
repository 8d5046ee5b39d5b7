/**
 * Small path helpers shared by every layer.
 *
 * @module
 */

import { pathToFileURL } from "node:url";

/** The `file://` URL of an absolute path. */
export function toFileUrl(path: string): string {
  return pathToFileURL(path).href;
}

/** The absolute path of a `file://` URL. */
export function fromFileUrl(url: string): string {
  return decodeURIComponent(new URL(url).pathname);
}
