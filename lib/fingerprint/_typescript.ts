/**
 * The TypeScript compiler, loaded on first use only: importing it costs about
 * 100 ms, and a run where no module changed must not pay that.
 *
 * @module
 */

import type ts from "typescript";
import { mark } from "../trace.ts";

let loaded: Promise<typeof ts> | undefined;

/** How many times TypeScript was actually imported in this process (0 or 1). */
export let typescriptLoads = 0;

/** The `typescript` module, imported on the first call. */
export function loadTypeScript(): Promise<typeof ts> {
  return loaded ??= import("typescript").then((module) => {
    typescriptLoads++;
    mark("fingerprint: TypeScript loaded");
    return module.default;
  });
}

/**
 * The version of the `typescript` that {@link loadTypeScript} would import,
 * without importing it: read from the module's resolved address (Deno's npm
 * cache and `node_modules` both name the version), or that whole address
 * when it names none. Undefined when it does not resolve.
 */
export function typescriptVersion(): string | undefined {
  let url: string;
  try {
    url = import.meta.resolve("typescript");
  } catch {
    return undefined;
  }
  return /typescript[@/](\d+\.\d+\.\d+[^/]*)\//.exec(url)?.[1] ?? url;
}
