/**
 * Watcher errors are not swallowed (issue 10, item 18): when the system
 * stops reporting changes (here: the inotify watch limit is reached as new
 * directories appear in a watched dep directory), watch mode says so in one
 * line and stops, instead of silently seeing nothing.
 *
 * The limit is lowered only for this test's process: inotify limits are per
 * user namespace, so `unshare --user --map-root-user` and a small
 * `/proc/sys/user/max_inotify_watches` inside it leave the machine's alone.
 */

import { CLI, TempProject } from "../_project.ts";
import { assertEquals, assertMatch } from "../_assert.ts";
import { spawn, test } from "../_harness.ts";
import { Running } from "./_kill.ts";

const COUNT = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("p");
pipeline.stage({
  name: "count",
  deps: { data: dep("data/", loaders.pathOnly()) },
  outs: { n: out("count.json", loaders.json()) },
  run: async ({ data }) => {
    let n = 0;
    for await (const _ of Deno.readDir(data)) n++;
    return { n };
  },
});
`;

test("watch mode reports the watch limit in one line and stops with exit 2", async () => {
  await using p = await TempProject.create({ "pipeline.ts": COUNT, "data/a.txt": "a" });
  // Enough watches for the start (the pipeline's and Pivot's module directories, the data
  // directory), too few for the 100 directories made below.
  const script = `echo 64 > /proc/sys/user/max_inotify_watches && exec "${Deno.execPath()}" ` +
    `run -A "${CLI}" repro --watch --debounce 100`;
  const run = new Running(
    spawn("unshare", {
      args: ["--user", "--map-root-user", "sh", "-c", script],
      cwd: p.root,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }),
  );
  await run.until((r) => /Watching for changes/.test(r.stderr), "the first run");
  for (let i = 0; i < 100; i++) await Deno.mkdir(p.path(`data/d${i}`));
  await run.until(
    (r) => /watch mode stopped/.test(r.stderr),
    "watch mode to report and stop",
    30_000,
  );
  const status = await run.status;
  assertEquals(status.code, 2, run.stderr);
  assertMatch(
    run.stderr,
    /^error: cannot watch .*\/data\/d\d+: the system's limit of watched directories is reached: raise it \(sysctl fs\.inotify\.max_user_watches=\d+\) or depend on fewer directories; watch mode stopped$/m,
  );
});
