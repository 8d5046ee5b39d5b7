/**
 * Projects whose real path Deno treats as a device's (`/dev/shm`, a tmpfs,
 * directly or through a symlink): Deno lets no sandboxed worker open a file
 * under `/dev`, whatever it was granted, so their staging lives in the
 * system's temporary directory and their deps are copied in
 * (lib/worker/staging.ts). Runs there must behave as anywhere else.
 */

import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";
import { runPivot, tempDir, TempProject } from "../_project.ts";
import { deviceRestricted } from "../../lib/worker/staging.ts";

const SHM = "/dev/shm";
const hasShm = (() => {
  try {
    return Deno.build.os === "linux" && Deno.statSync(SHM).isDirectory;
  } catch {
    return false;
  }
})();

// A file dep, a directory dep, a file out, a directory out and an
// incremental out; `report` reads `split`'s outs as its deps.
const PIPELINE = `import { dep, incremental, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("shm");
pipeline.stage({
  name: "split",
  deps: { words: dep("data/words.txt", loaders.text()), extra: dep("data/extra/") },
  outs: {
    count: out("build/count.txt", loaders.text()),
    parts: out("build/parts/"),
    log: incremental("build/log.txt"),
  },
  run: ({ words, extra }, ctx) => {
    const list = words.trim().split(/\\s+/);
    for (const [i, word] of list.entries()) {
      Deno.mkdirSync(ctx.outs.parts, { recursive: true });
      Deno.writeTextFileSync(\`\${ctx.outs.parts}/\${i}.txt\`, word);
    }
    const extras = [...Deno.readDirSync(extra)].map((e) => e.name).sort().join(",");
    Deno.writeTextFileSync(ctx.outs.log, \`\${list.length} \${extras}\\n\`, { append: true });
    return { count: String(list.length) };
  },
});
pipeline.stage({
  name: "report",
  deps: { count: dep("build/count.txt", loaders.text()), parts: dep("build/parts/") },
  outs: { report: out("report.txt", loaders.text()) },
  run: ({ count, parts }) => ({
    report: \`\${count}: \${Deno.readTextFileSync(\`\${parts}/0.txt\`)}\`,
  }),
});
`;

const FILES = {
  "pipeline.ts": PIPELINE,
  "data/words.txt": "alpha beta gamma",
  "data/extra/x.txt": "x",
};

/** Run `repro` at `cwd` twice with a change between, and check what it made in `p`. */
async function runsAsAnywhere(p: TempProject, cwd: string): Promise<void> {
  const first = await runPivot(cwd, ["repro", "--json"]);
  assertEquals(first.code, 0, first.stdout + first.stderr);
  assertEquals(await p.read("report.txt"), "3: alpha");
  assertEquals(await p.read("build/parts/2.txt"), "gamma");
  assertEquals(await p.read("build/log.txt"), "3 x.txt\n");

  // The warm workers reuse their staging, copied deps included.
  await p.write("data/words.txt", "delta epsilon");
  await p.write("data/extra/y.txt", "y");
  const second = await runPivot(cwd, ["repro"]);
  assertEquals(second.code, 0, second.stdout + second.stderr);
  assertEquals(await p.read("report.txt"), "2: delta");
  assertEquals(await p.read("build/log.txt"), "3 x.txt\n2 x.txt,y.txt\n");
  assertEquals(await p.exists("build/parts/2.txt"), false);

  const again = await runPivot(cwd, ["repro", "--json"]);
  assertEquals(again.code, 0, again.stderr);
  assertEquals(TempProject.byStatus(jsonEvents(again.stdout)), { skipped: ["report", "split"] });
  // Nothing staged is left behind in the project.
  assertEquals(
    [...Deno.readDirSync(p.path(".pivot/tmp"))].filter((e) => e.name.startsWith("run-")),
    [],
  );
}

function jsonEvents(stdout: string) {
  return stdout.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}

test("the paths Deno keeps from sandboxed workers are /dev, /proc and /sys on Linux", () => {
  const linux = Deno.build.os === "linux";
  assertEquals(deviceRestricted("/dev/shm/p"), Deno.build.os !== "windows");
  assertEquals(deviceRestricted("/dev"), Deno.build.os !== "windows");
  assertEquals(deviceRestricted("/proc/1/cwd"), linux);
  assertEquals(deviceRestricted("/sys"), linux);
  assertEquals(deviceRestricted("/device/p"), false);
  assertEquals(deviceRestricted("/tmp/dev/shm"), false);
});

test("a project on tmpfs under /dev/shm runs its stages", { ignore: !hasShm }, async () => {
  await using p = await TempProject.create(FILES, { parent: SHM });
  await runsAsAnywhere(p, p.root);
});

test(
  "a project reached through a symlink into /dev/shm runs its stages",
  { ignore: !hasShm },
  async () => {
    await using p = await TempProject.create(FILES, { parent: SHM });
    await using links = await tempDir();
    await Deno.symlink(p.root, links.path("project"));
    await runsAsAnywhere(p, links.path("project"));
  },
);
