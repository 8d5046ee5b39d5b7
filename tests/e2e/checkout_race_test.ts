/**
 * `pivot checkout` while a stage runs: checkout takes the execution locks
 * of the stages that read the outs it replaces, as `repro` does, so a lock
 * file (tracked in git) never claims a dep hash that its stage did not read.
 */

import { assertEquals, assertMatch } from "../_assert.ts";
import { spawnPivot, TempProject, WAIT_FOR_FILE } from "../_project.ts";
import { test } from "../_harness.ts";
import { Running, running } from "./_kill.ts";

// `read` depends on a directory (read live, through a link, while it runs)
// and, once started, waits (a minute at most) until `gates/go` exists before
// reading it: the test opens the gate once checkout is waiting for the lock.
const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("race");
${WAIT_FOR_FILE}
pipeline.stage({
  name: "make",
  deps: { data: dep("data.txt", loaders.text()) },
  outs: { dir: out("pdir/", loaders.pathOnly()) },
  run: async ({ data }, ctx) => {
    await Deno.writeTextFile(ctx.outs.dir + "/x.txt", data.trim());
  },
});
pipeline.stage({
  name: "read",
  deps: { dir: dep("pdir/", loaders.pathOnly()) },
  outs: { seen: out("seen.txt", loaders.text()) },
  permissions: { read: ["gates"] },
  run: async ({ dir }) => {
    console.log("reading soon");
    await waitForFile("gates/go");
    return { seen: await Deno.readTextFile(dir + "/x.txt") };
  },
});
`;

const WAITING = /stage 'read' is locked by another pivot process; waiting for it/;

function depHash(lock: string, path: string): string {
  const match = new RegExp(`hash: ([0-9a-f]{16})\\n(?:\\s+\\w+: \\d+\\n)*\\s+path: ${path}\\n`)
    .exec(lock);
  if (!match) throw new Error(`no dep ${path} in\n${lock}`);
  return match[1];
}

// Plain checkout replaces pdir/ because its content is in the cache; with
// --force it would replace anything. Neither may swap it under a running stage.
for (const flags of [[], ["--force"]]) {
  const command = ["checkout", ...flags].join(" ");
  test(
    `${command} during a run never leaves a lock claiming a dep the stage did not read`,
    async () => {
      await using p = await TempProject.create({
        "pipeline.ts": PIPELINE,
        "data.txt": "one\n",
        "gates/go": "",
      });
      assertEquals((await p.pivot("repro")).code, 0);
      const makeLockOne = await p.read(".pivot/stages/make.lock");
      const hashOf: Record<string, string> = {
        one: depHash(await p.read(".pivot/stages/read.lock"), "pdir"),
      };
      await p.write("data.txt", "two\n");
      assertEquals((await p.pivot("repro")).code, 0);
      hashOf.two = depHash(await p.read(".pivot/stages/read.lock"), "pdir");
      // As after `git checkout` of the first commit: make's lock file and its
      // input are at "one", the workspace's pdir/ still at "two".
      await p.write(".pivot/stages/make.lock", makeLockOne);
      await p.write("data.txt", "one\n");

      await Deno.remove(p.path("gates/go"));
      const run = new Running(spawnPivot(p.root, ["run", "read", "--force"]));
      await run.until((r) => r.stdout.includes("reading soon"), "read to start");
      // read is running and has not read pdir/ yet (it waits for the gate):
      // checkout must wait for it. The gate opens once checkout says it waits
      // (or has ended without waiting, which the assertions below report).
      const checkout = new Running(spawnPivot(p.root, ["checkout", ...flags]));
      await checkout.until(
        (r) => WAITING.test(r.stderr) || !running(r.pid),
        "checkout to wait for read's lock (or to end)",
      );
      await p.write("gates/go", "");
      const [status, checkoutStatus] = await Promise.all([run.status, checkout.status]);
      assertEquals(status.code, 0, run.stdout + run.stderr);
      assertEquals(checkoutStatus.code, 0, checkout.stderr);

      const seen = await p.read("seen.txt");
      const lock = await p.read(".pivot/stages/read.lock");
      assertEquals(depHash(lock, "pdir"), hashOf[seen], `read saw '${seen}':\n${lock}`);
      assertMatch(checkout.stderr, WAITING);
      assertEquals(await p.read("pdir/x.txt"), "one", "checkout did its work after the run");
    },
  );
}
