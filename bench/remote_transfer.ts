/**
 * One push or fetch through Pivot's transfer layer (lib/remote/), timed from
 * outside by the `remote` workload:
 *
 * ```sh
 * deno run -A bench/remote_transfer.ts push|fetch PROJECT URL ENDPOINT TARGETS.json [JOBS]
 * ```
 *
 * PROJECT holds `cache/` and `state/`; TARGETS.json lists `{hash, isDir}`.
 * Credentials come from the environment. Prints `{summary, stats}` as JSON.
 *
 * @module
 */

import { join } from "node:path";
import { remoteSpec } from "../lib/remote/config.ts";
import { openRemote } from "../lib/remote/open.ts";
import { fetchObjects, pushObjects } from "../lib/remote/transfer.ts";
import { Cache } from "../lib/storage/cache.ts";
import { StateStore } from "../lib/storage/state.ts";

const [verb, project, url, endpoint, targetsFile, jobs] = Deno.args;
if ((verb !== "push" && verb !== "fetch") || !project || !url || !endpoint || !targetsFile) {
  console.error("usage: remote_transfer.ts push|fetch PROJECT URL ENDPOINT TARGETS.json [JOBS]");
  Deno.exit(2);
}
const state = await StateStore.open(join(project, "state"));
const remote = await openRemote(remoteSpec("bench", { url, endpoint }, project), state, {
  ...(jobs ? { jobs: Number(jobs) } : {}),
});
const cache = new Cache(join(project, "cache"));
const targets = JSON.parse(await Deno.readTextFile(targetsFile));
const problems: string[] = [];
const transfer = verb === "push" ? pushObjects : fetchObjects;
const summary = await transfer(remote, cache, state, targets, {
  onProblem: (m) => problems.push(m),
});
await state.close();
console.log(
  JSON.stringify({ summary, stats: remote.backend.stats, problems: problems.slice(0, 3) }),
);
