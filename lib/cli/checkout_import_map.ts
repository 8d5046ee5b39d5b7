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
 * @module
 */

import { stripJsonc } from "../jsonc.ts";
import { fromFileUrl, toFileUrl } from "../paths.ts";

type Mapping = Record<string, string>;

interface ImportMap {
  imports: Mapping;
  scopes: Record<string, Mapping>;
}

/**
 * The `--import-map` value (a `data:` URL) the child needs to run Pivot's
 * sources at `entryUrl` with the user's config `userConfig`, or undefined when
 * it needs none: Pivot does not run from files, Pivot's folder has no
 * `deno.json`, or the user's config already maps into Pivot's folder.
 *
 * @example
 * ```ts ignore
 * checkoutImportMap("/home/me/project/deno.json", "file:///opt/pivot/cli.ts");
 * // "data:application/json,…" or undefined
 * ```
 */
export function checkoutImportMap(userConfig: string, entryUrl: string): string | undefined {
  if (!entryUrl.startsWith("file:")) return undefined;
  const pivotRoot = new URL(".", entryUrl).href;
  const pivotMap = readMap(fromFileUrl(new URL("deno.json", pivotRoot).href));
  if (pivotMap === undefined) return undefined;
  const userMap = readMap(userConfig) ?? { imports: {}, scopes: {} };
  const values = [
    ...Object.values(userMap.imports),
    ...Object.values(userMap.scopes).flatMap((scope) => Object.values(scope)),
  ];
  if (values.some((target) => target.startsWith(pivotRoot))) return undefined;
  const map: ImportMap = {
    imports: userMap.imports,
    scopes: { ...userMap.scopes, [pivotRoot]: pivotMap.imports },
  };
  return `data:application/json,${encodeURIComponent(JSON.stringify(map))}`;
}

/**
 * The import map a config file applies (its `imports` and `scopes`, or the
 * file its `importMap` names), with every relative address made absolute
 * against the file that holds it. Undefined when the file cannot be read as
 * JSON(C): Deno reports that itself.
 */
function readMap(configPath: string): ImportMap | undefined {
  const config = readJson(configPath);
  if (config === undefined) return undefined;
  const configUrl = toFileUrl(configPath);
  if (typeof config.importMap === "string" && config.imports === undefined) {
    const mapUrl = new URL(config.importMap, configUrl).href;
    if (!mapUrl.startsWith("file:")) return undefined;
    const file = readJson(fromFileUrl(mapUrl));
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

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(stripJsonc(Deno.readTextFileSync(path)));
    return value !== null && typeof value === "object" && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
