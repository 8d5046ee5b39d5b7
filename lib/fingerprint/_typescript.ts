/**
 * The TypeScript compiler, loaded on first use only: loading it costs 200–400
 * ms of the calling thread, and a run where no module changed must not pay
 * that.
 *
 * @module
 */

import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type ts from "typescript";
import { mark } from "../trace.ts";

let loaded: Promise<typeof ts> | undefined;

/** How many times TypeScript was actually imported in this process (0 or 1). */
export let typescriptLoads = 0;

/** The `typescript` module, imported on the first call. */
export function loadTypeScript(): Promise<typeof ts> {
  return loaded ??= importTypeScript().then((module) => {
    typescriptLoads++;
    mark("fingerprint: TypeScript loaded");
    return module;
  });
}

/**
 * `typescript` is one CommonJS file of 9 MB. Imported as a module, Deno first
 * analyses it for its named exports and wraps it, ~75 ms of the ~350 ms of
 * CPU a load took here (docs/lessons.md, nineteenth session); `require` runs
 * the file as Node does, without either. Where the module does not resolve
 * to a file (`deno compile`'s embedded packages, say) or `require` cannot
 * load it, it is imported.
 */
async function importTypeScript(): Promise<typeof ts> {
  const url = resolvedTypeScript();
  if (url?.startsWith("file:")) {
    try {
      const module = createRequire(url)(fileURLToPath(url)) as typeof ts;
      if (typeof module.createSourceFile === "function") return module;
    } catch {
      // Imported below, which reports what is wrong if it fails too.
    }
  }
  return (await import("typescript")).default;
}

/** Where `typescript` resolves from this module, or undefined when it does not. */
function resolvedTypeScript(): string | undefined {
  try {
    return import.meta.resolve("typescript");
  } catch {
    return undefined;
  }
}

/**
 * The version of the `typescript` that {@link loadTypeScript} would import,
 * without importing it: read from the module's resolved address (Deno's npm
 * cache and `node_modules` both name the version), or that whole address
 * when it names none. Undefined when it does not resolve.
 */
export function typescriptVersion(): string | undefined {
  const url = resolvedTypeScript();
  if (url === undefined) return undefined;
  return /typescript[@/](\d+\.\d+\.\d+[^/]*)\//.exec(url)?.[1] ?? url;
}
