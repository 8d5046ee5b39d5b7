/**
 * The files besides modules that decide how a graph resolves: the user's
 * `deno.json`, its lock file (which pins package versions), an external
 * import map, `package.json`, and configs of enclosing workspaces. A change to
 * any of them invalidates cached module graphs.
 *
 * @module
 */

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

/** JSON with comments and trailing commas (as `deno.jsonc` allows) → JSON. */
function stripJsonc(text: string): string {
  return dropTrailingCommas(dropComments(text));
}

/** The end index of the string literal starting at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  for (; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
  return i;
}

function dropComments(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') {
      const end = stringEnd(text, i);
      out += text.slice(i, end + 1);
      i = end;
    } else if (text[i] === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (text[i] === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 1;
    } else {
      out += text[i];
    }
  }
  return out;
}

function dropTrailingCommas(json: string): string {
  let out = "";
  for (let i = 0; i < json.length; i++) {
    if (json[i] === '"') {
      const end = stringEnd(json, i);
      out += json.slice(i, end + 1);
      i = end;
    } else if (json[i] === ",") {
      let j = i + 1;
      while (j < json.length && /\s/.test(json[j])) j++;
      if (json[j] !== "}" && json[j] !== "]") out += ",";
    } else {
      out += json[i];
    }
  }
  return out;
}
