/**
 * The TypeScript compiler, loaded on first use only: importing it costs about
 * 100 ms, and a run where no module changed must not pay that.
 *
 * @module
 */

import type ts from "typescript";

let loaded: Promise<typeof ts> | undefined;

/** How many times TypeScript was actually imported in this process (0 or 1). */
export let typescriptLoads = 0;

/** The `typescript` module, imported on the first call. */
export function loadTypeScript(): Promise<typeof ts> {
  return loaded ??= import("typescript").then((module) => {
    typescriptLoads++;
    return module.default;
  });
}
