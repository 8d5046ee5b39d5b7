/**
 * A push or fetch run in its own process, so that a test can SIGKILL it
 * mid-way: `deno run -A _push_child.ts JSON` with `{verb?, remote,
 * projectDir, targets, s3}` (verb "push", the default, or "fetch"). Prints
 * "done" when it finished.
 *
 * @module
 */

import { join } from "node:path";
import { remoteSpec } from "../../lib/remote/config.ts";
import { openRemote } from "../../lib/remote/open.ts";
import { fetchObjects, pushObjects } from "../../lib/remote/transfer.ts";
import { Cache } from "../../lib/storage/cache.ts";
import { StateStore } from "../../lib/storage/state.ts";

const job = JSON.parse(Deno.args[0]!);
const state = await StateStore.open(join(job.projectDir, "state"));
const remote = await openRemote(remoteSpec("origin", job.remote, job.projectDir), state, {
  jobs: 2,
  s3: job.s3,
});
const transfer = job.verb === "fetch" ? fetchObjects : pushObjects;
await transfer(remote, new Cache(join(job.projectDir, "cache")), state, job.targets);
await state.close();
console.log("done");
