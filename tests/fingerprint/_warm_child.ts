/**
 * Test helper, run in a fresh `deno`: fingerprints the stages in a JSON file
 * and prints the stats and whether TypeScript was imported.
 *
 * @module
 */

import { fingerprintStages, type FingerprintStats } from "../../lib/fingerprint/fingerprint.ts";
import { typescriptLoads } from "../../lib/fingerprint/_typescript.ts";
import type { StageDef } from "../../lib/model/stage_def.ts";
import { StateStore } from "../../lib/storage/state.ts";

const [root, stagesFile, pivotRoot] = Deno.args;
const stages = JSON.parse(await Deno.readTextFile(stagesFile)) as StageDef[];
const state = await StateStore.open(`${root}/.pivot/state`);
const stats: FingerprintStats = { analysed: 0, graphRuns: 0, cachedStages: 0 };
await fingerprintStages(stages, {
  projectRoot: root,
  denoConfig: `${root}/deno.json`,
  pivotRoot,
  state,
  stats,
});
await state.close();
console.log(JSON.stringify({ stats, typescriptLoads }));
