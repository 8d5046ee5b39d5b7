/**
 * The files besides modules that decide how a graph resolves: the user's
 * `deno.json`, its lock file (which pins package versions), an external
 * import map and a `package.json` beside the config. A change to any of them invalidates cached module graphs.
 *
 * @module
 */

import { dirname, resolvePath } from "./_paths.ts";

/** Absolute paths of the config, lock, import-map and package.json files of `denoConfig` (which may not exist). */
export async function configInputs(denoConfig: string | undefined): Promise<string[]> {
  if (denoConfig === undefined) return [];
  const dir = dirname(denoConfig);
  let config: { lock?: unknown; importMap?: unknown } = {};
  try {
    config = JSON.parse(stripJsonc(await Deno.readTextFile(denoConfig)));
  } catch {
    // Unreadable or invalid: `deno info` will say so; track the default lock.
  }
  // package.json declares npm dependencies too (resolved into node_modules).
  const inputs = [denoConfig, resolvePath(dir, "package.json")];
  const lock = config.lock;
  if (typeof lock === "string") {
    inputs.push(resolvePath(dir, lock));
  } else if (typeof lock === "object" && lock !== null && "path" in lock) {
    inputs.push(resolvePath(dir, String(lock.path)));
  } else if (lock !== false) {
    inputs.push(resolvePath(dir, "deno.lock"));
  }
  const importMap = config.importMap;
  if (typeof importMap === "string" && !/^[a-z]+:/i.test(importMap)) {
    inputs.push(resolvePath(dir, importMap));
  }
  return inputs;
}

/** JSON with comments and trailing commas (as `deno.jsonc` allows) → JSON. */
export function stripJsonc(text: string): string {
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
