/**
 * Test helper, run in a fresh `deno`: asks `prepareAnalysis` to get ready for
 * a change to the given paths and prints whether TypeScript was imported.
 *
 * @module
 */

import { prepareAnalysis } from "../../lib/fingerprint/fingerprint.ts";
import { typescriptLoads } from "../../lib/fingerprint/_typescript.ts";
import { StateStore } from "../../lib/storage/state.ts";

const [root, pivotRoot, ...paths] = Deno.args;
const state = await StateStore.open(`${root}/.pivot/state`);
await prepareAnalysis({
  projectRoot: root,
  denoConfig: `${root}/deno.json`,
  pivotRoot,
  state,
}, paths);
await state.close();
console.log(JSON.stringify({ typescriptLoads }));
