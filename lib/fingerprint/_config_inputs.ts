/**
 * The files besides modules that decide how a graph resolves: the user's
 * `deno.json`, its lock file (which pins package versions), an external
 * import map, `package.json`, and configs of enclosing workspaces. A change to
 * any of them invalidates cached module graphs.
 *
 * @module
 */

import { stripJsonc } from "../jsonc.ts";
import { dirname, resolvePath } from "./_paths.ts";

/**
 * Absolute paths of the files that decide resolution for a project (some may
 * not exist; their absence is tracked too): `denoConfig` with its lock file,
 * import map and sibling package.json, or, without a config, the package.json
 * and deno.lock of `projectRoot`; and the deno.json, deno.jsonc and deno.lock
 * of every directory above (a workspace root holds the lock and shared imports).
 */
export async function configInputs(
  denoConfig: string | undefined,
  projectRoot: string,
): Promise<string[]> {
  const inputs: string[] = [];
  let dir = projectRoot;
  if (denoConfig === undefined) {
    inputs.push(resolvePath(dir, "package.json"), resolvePath(dir, "deno.lock"));
  } else {
    dir = dirname(denoConfig);
    inputs.push(denoConfig, resolvePath(dir, "package.json"), ...await configFiles(denoConfig));
  }
  while (dir !== "/") {
    dir = dirname(dir);
    for (const name of ["deno.json", "deno.jsonc", "deno.lock"]) {
      inputs.push(resolvePath(dir, name));
    }
  }
  return [...new Set(inputs)];
}

/** The lock file and import map a config names (default lock: deno.lock beside it). */
async function configFiles(denoConfig: string): Promise<string[]> {
  const dir = dirname(denoConfig);
  let config: { lock?: unknown; importMap?: unknown } = {};
  try {
    config = JSON.parse(stripJsonc(await Deno.readTextFile(denoConfig)));
  } catch {
    // Unreadable or invalid: `deno info` will say so; track the default lock.
  }
  const files: string[] = [];
  const lock = config.lock;
  if (typeof lock === "string") {
    files.push(resolvePath(dir, lock));
  } else if (typeof lock === "object" && lock !== null && "path" in lock) {
    files.push(resolvePath(dir, String(lock.path)));
  } else if (lock !== false) {
    files.push(resolvePath(dir, "deno.lock"));
  }
  const importMap = config.importMap;
  if (typeof importMap === "string" && !/^[a-z]+:/i.test(importMap)) {
    files.push(resolvePath(dir, importMap));
  }
  return files;
}
