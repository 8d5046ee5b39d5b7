/**
 * Pivot's own bare imports (`yaml`, `typescript`…) when Pivot runs from a
 * checkout of its sources (or a compiled binary's extracted copy) with the
 * user's `deno.json` passed as `--config`.
 *
 * Deno resolves Pivot's files with Pivot's `deno.json` only when the user's
 * config maps something into Pivot's folder (as a project that imports
 * `jsr:@pivot/core` from a checkout does). A project that does not (a
 * `pivot.yaml` project whose `deno.json` has only tasks) would fail in the
 * child with `Import "yaml" not a dependency`. For it, the launcher passes an
 * import map of its own: the user's imports and scopes, made absolute, plus a
 * scope for Pivot's folder with Pivot's imports. `--import-map` replaces the
 * config's map, so the user's entries are carried over unchanged.
 *
 * The map is passed as a file, not a `data:` URL: Deno 2.9 panics
 * (`import_map` ext.rs, an unwrap on None) with some maps given as `data:`
 * URLs, e.g. when the user's config maps `jsr:@pivot/core` to another copy
 * of Pivot (docs/lessons.md). The file is named by a digest of its text in
 * the user's cache folder and written only when missing or different.
 *
 * @module
 */

import { readJsoncObject } from "../jsonc.ts";
import { cacheRoot, userCacheFolder } from "./user_cache.ts";
import { fromFileUrl, toFileUrl } from "../paths.ts";

type Mapping = Record<string, string>;

interface ImportMap {
  imports: Mapping;
  scopes: Record<string, Mapping>;
}

/**
 * The import map (as JSON text) the child needs to run Pivot's sources at
 * `entryUrl` with the user's config `userConfig`, or undefined when it needs
 * none: Pivot does not run from files, Pivot's folder has no `deno.json`, or
 * the user's config already maps into Pivot's folder.
 *
 * @example
 * ```ts ignore
 * checkoutImportMap("/home/me/project/deno.json", "file:///opt/pivot/cli.ts");
 * // '{"imports":{…},"scopes":{…}}' or undefined
 * ```
 */
export function checkoutImportMap(userConfig: string, entryUrl: string): string | undefined {
  if (!entryUrl.startsWith("file:")) return undefined;
  const pivotRoot = new URL(".", entryUrl).href;
  // The user's map first: when it maps into Pivot's folder (a project that
  // imports jsr:@pivot/core from this checkout), Pivot's own deno.json is not
  // read at all (reading and rebasing it was most of this function's cost).
  const userMap = readMap(userConfig) ?? { imports: {}, scopes: {} };
  const values = [
    ...Object.values(userMap.imports),
    ...Object.values(userMap.scopes).flatMap((scope) => Object.values(scope)),
  ];
  if (values.some((target) => target.startsWith(pivotRoot))) return undefined;
  const pivotMap = readMap(fromFileUrl(new URL("deno.json", pivotRoot).href));
  if (pivotMap === undefined) return undefined;
  const map: ImportMap = {
    imports: userMap.imports,
    scopes: { ...userMap.scopes, [pivotRoot]: pivotMap.imports },
  };
  return JSON.stringify(map);
}

/**
 * A file holding the import map `json`, for `--import-map`: in
 * `$XDG_CACHE_HOME/pivot/import-maps/` (default `~/.cache`), named by a
 * digest of the text, written (through a temporary name) only when missing
 * or different. Without a home folder, in the system's temporary folder,
 * under a folder of this user's only.
 *
 * @example
 * ```ts ignore
 * importMapFile('{"imports":{}}'); // "/home/me/.cache/pivot/import-maps/7d1f….json"
 * ```
 */
export function importMapFile(json: string): string {
  const name = `${digest(json)}.json`;
  const known = `${cacheRoot()}/import-maps/${name}`;
  try {
    if (Deno.readTextFileSync(known) === json) return known;
  } catch {
    // missing: written below
  }
  const path = `${userCacheFolder("import-maps")}/${name}`;
  const temp = `${path}.${Deno.pid}.tmp`;
  Deno.writeTextFileSync(temp, json);
  Deno.renameSync(temp, path);
  return path;
}

/** A 53-bit digest of `text` in hex (cyrb53): a file name, not a checksum. */
function digest(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, "0");
}

/**
 * The import map a config file applies (its `imports` and `scopes`, or the
 * file its `importMap` names), with every relative address made absolute
 * against the file that holds it. Undefined when the file cannot be read as
 * JSON(C): Deno reports that itself.
 */
function readMap(configPath: string): ImportMap | undefined {
  const config = readJsoncObject(configPath);
  if (config === undefined) return undefined;
  const configUrl = toFileUrl(configPath);
  if (typeof config.importMap === "string" && config.imports === undefined) {
    const mapUrl = new URL(config.importMap, configUrl).href;
    if (!mapUrl.startsWith("file:")) return undefined;
    const file = readJsoncObject(fromFileUrl(mapUrl));
    return file === undefined ? undefined : absoluteMap(file, mapUrl);
  }
  return absoluteMap(config, configUrl);
}

function absoluteMap(source: Record<string, unknown>, baseUrl: string): ImportMap {
  const scopes: Record<string, Mapping> = {};
  for (const [scope, mapping] of Object.entries(objectOf(source.scopes))) {
    scopes[absolute(scope, baseUrl)] = absoluteMapping(objectOf(mapping), baseUrl);
  }
  return { imports: absoluteMapping(objectOf(source.imports), baseUrl), scopes };
}

function absoluteMapping(mapping: Record<string, unknown>, baseUrl: string): Mapping {
  const result: Mapping = {};
  for (const [key, target] of Object.entries(mapping)) {
    if (typeof target !== "string") continue;
    result[absolute(key, baseUrl)] = absolute(target, baseUrl);
  }
  return result;
}

/** Addresses starting `./`, `../` or `/` are relative to the map's file; others stay. */
function absolute(address: string, baseUrl: string): string {
  return /^(\.\.?\/|\/)/.test(address) ? new URL(address, baseUrl).href : address;
}

function objectOf(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value as Record<string, unknown>
    : {};
}
