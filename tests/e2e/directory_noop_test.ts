/**
 * The no-op of a directory dep or out settled in the launcher's process
 * (docs/performance.md, "Directory no-op in the launcher's process"): the
 * verified index records a directory by the digest of its files' stamps,
 * and the launcher's no-op gate walks the directory (one `stat` a file) to
 * compare it. Every change a full decision sees must still be seen: a file
 * rewritten with the same size, added or removed in any sub-directory, a
 * file turned into a directory, a racy file (rewritten within one tick of
 * the clock, its stamp unchanged). Each sequence runs twice, as a user runs
 * it and with the child alone (`PIVOT_IN_LAUNCHER=off`), and both must
 * print the same and leave the same files.
 */

import { age, runPivot, TempProject } from "../_project.ts";
import { assert, assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

/** How a command ran: in the launcher's process, handed over by the gate, or in the child. */
type Way = "launcher" | "gated" | "fell back" | "child";

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly way: Way;
  /** Why the gate handed over or the attempt fell back. */
  readonly why: string | undefined;
}

/** `pivot ARGS` with the trace on; `child`: the child alone. */
async function pivot(project: TempProject, args: string[], child: boolean): Promise<Run> {
  const result = await runPivot(project.root, args, {
    PIVOT_TRACE: "1",
    ...(child ? { PIVOT_IN_LAUNCHER: "off" } : {}),
  });
  const trace = result.stderr.split("\n").filter((line) => line.startsWith("[trace]"));
  const attempted = trace.some((line) => line.includes("in the launcher's process"));
  const gated = trace.find((line) => line.includes("the child runs the command"))
    ?.replace(/.*no-op gate: (.*): the child runs the command/, "$1");
  const fell = trace.find((line) => line.includes("needs the child process"))
    ?.replace(/.*needs the child process: /, "");
  const way: Way = gated !== undefined
    ? "gated"
    : !attempted
    ? "child"
    : fell === undefined
    ? "launcher"
    : "fell back";
  assertEquals(result.code, 0, result.stderr);
  return { code: result.code, stdout: result.stdout, way, why: gated ?? fell };
}

/** `text` with durations and times blanked. */
function timeless(text: string): string {
  return text
    .replace(/"(duration_ms|started|ended|started_at|ended_at)":\s*("[^"]*"|\d+)/g, '"$1":0')
    .replace(/\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?Z?/g, "DATE")
    .replace(/\b\d+(\.\d+)?m?s\b/g, "T");
}

/**
 * Age the project, then run `repro` twice: the first records every stage
 * in the verified index, the second must be answered by the index (in the
 * launcher's process, unless `child`).
 */
async function settle(project: TempProject, child: boolean): Promise<Run> {
  age(project);
  await pivot(project, ["repro"], child);
  const noop = await pivot(project, ["repro"], child);
  assert(noop.stdout.includes("Everything is up to date"), noop.stdout);
  assertEquals(noop.way, child ? "child" : "launcher", noop.why);
  return noop;
}

/** What a sequence of steps is given: its project, which process runs it, and the outputs it records. */
interface Sequence {
  readonly project: TempProject;
  /** The child alone (`PIVOT_IN_LAUNCHER=off`), or as a user runs it. */
  readonly child: boolean;
  /** What the two runs of the sequence must print alike. */
  readonly outputs: string[];
}

/**
 * Run `steps` on a new project of `files` twice, as a user runs them and
 * with the child alone, and check both recorded the same outputs.
 */
async function inBothProcesses(
  files: Record<string, string>,
  steps: (sequence: Sequence) => Promise<void>,
): Promise<void> {
  const seen: string[][] = [];
  for (const child of [false, true]) {
    await using project = await TempProject.create(files);
    const outputs: string[] = [];
    await steps({ project, child, outputs });
    seen.push(outputs);
  }
  assertEquals(seen[0], seen[1]);
}

const DEP_FILES = {
  "pipeline.ts": `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";

/** Every file under \`dir\` with its content, sorted. */
function gather(dir: string, prefix = ""): string[] {
  const lines: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = \`\${dir}/\${entry.name}\`;
    if (entry.isDirectory) lines.push(...gather(path, \`\${prefix}\${entry.name}/\`));
    else lines.push(\`\${prefix}\${entry.name}=\${Deno.readTextFileSync(path).trim()}\`);
  }
  return lines.sort();
}

export const pipeline = new Pipeline("dirnoop");

pipeline.stage({
  name: "gather",
  deps: { data: dep("data/") },
  outs: { out: out("gathered.txt", loaders.text()) },
  run: ({ data }) => ({ out: gather(data).join("\\n") + "\\n" }),
});
`,
  "data/top.txt": "t0\n",
  "data/a/x.txt": "x1\n",
  "data/b/c/y.txt": "y1\n",
};

test("a directory dep's no-op runs in the launcher, and every change in the directory is seen", async () => {
  await inBothProcesses(DEP_FILES, async ({ project, child, outputs }) => {
    const ran = async (what: string, expected: string) => {
      const run = await pivot(project, ["repro"], child);
      assert(/ran +gather/.test(run.stdout), `${what}: ${run.stdout}`);
      if (!child) assertEquals(run.way, "gated", `${what}: ${run.why}`);
      assertEquals(await project.read("gathered.txt"), expected, what);
      outputs.push(timeless(run.stdout));
    };
    assertEquals((await pivot(project, ["repro"], child)).code, 0);
    outputs.push(timeless((await settle(project, child)).stdout));
    // What the index recorded of the directory (its hash, file count and size) is what the
    // full decision reports.
    for (const args of [["status"], ["status", "--json"], ["repro", "--explain"]]) {
      const run = await pivot(project, args, child);
      assertEquals(run.way, child ? "child" : "launcher", run.why);
      outputs.push(timeless(run.stdout));
    }

    // A file deep down rewritten with the same size (its mtime is all that tells).
    await project.write("data/b/c/y.txt", "y2\n");
    await ran("same size", "a/x.txt=x1\nb/c/y.txt=y2\ntop.txt=t0\n");
    await settle(project, child);

    // A file added in a new sub-directory.
    await project.write("data/b/c/d/new.txt", "n\n");
    await ran("added", "a/x.txt=x1\nb/c/d/new.txt=n\nb/c/y.txt=y2\ntop.txt=t0\n");
    await settle(project, child);

    // A file removed.
    await Deno.remove(project.path("data", "a", "x.txt"));
    await ran("removed", "b/c/d/new.txt=n\nb/c/y.txt=y2\ntop.txt=t0\n");
    await settle(project, child);

    // A file turned into a directory of the same name.
    await Deno.remove(project.path("data", "top.txt"));
    await project.write("data/top.txt/in.txt", "i\n");
    await ran("file to directory", "b/c/d/new.txt=n\nb/c/y.txt=y2\ntop.txt/in.txt=i\n");
    await settle(project, child);

    // A mode changed: not part of a directory's content (its manifest lists
    // paths and hashes), so nothing runs, in either process.
    Deno.chmodSync(project.path("data", "b", "c", "y.txt"), 0o755);
    const chmod = await pivot(project, ["repro"], child);
    assert(chmod.stdout.includes("Everything is up to date"), chmod.stdout);
    outputs.push(timeless(chmod.stdout));

    // A racy file: dated an hour ahead, it is racy under any clock marker,
    // so no digest of the directory is recorded while it is, and a rewrite
    // that keeps its size, inode and mtime is still read.
    const racy = project.path("data", "b", "c", "y.txt");
    const ahead = new Date(Date.now() + 3_600_000);
    // Written in place (TempProject.write renames a new file over it).
    Deno.writeTextFileSync(racy, "y3\n");
    Deno.utimeSync(racy, ahead, ahead);
    await ran("racy", "b/c/d/new.txt=n\nb/c/y.txt=y3\ntop.txt/in.txt=i\n");
    const ino = Deno.statSync(racy).ino;
    await pivot(project, ["repro"], child);
    Deno.writeTextFileSync(racy, "y4\n");
    Deno.utimeSync(racy, ahead, ahead);
    assertEquals(Deno.statSync(racy).ino, ino, "rewritten in place");
    const again = await pivot(project, ["repro"], child);
    assert(/ran +gather/.test(again.stdout), again.stdout);
    if (!child) assertEquals(again.way, "gated", again.why);
    assertEquals(
      await project.read("gathered.txt"),
      "b/c/d/new.txt=n\nb/c/y.txt=y4\ntop.txt/in.txt=i\n",
    );
    outputs.push(timeless(again.stdout));
    outputs.push(timeless((await settle(project, child)).stdout));
  });
});

const OUT_FILES = {
  "pipeline.ts": `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";

function countFiles(dir: string): number {
  let files = 0;
  for (const entry of Deno.readDirSync(dir)) {
    files += entry.isDirectory ? countFiles(\`\${dir}/\${entry.name}\`) : 1;
  }
  return files;
}

export const pipeline = new Pipeline("dirnoop_out");

pipeline.stage({
  name: "generate",
  deps: { seed: dep("seed.txt", loaders.text()) },
  outs: { gen: out("gen/") },
  run: ({ seed }, ctx) => {
    for (const d of ["d0", "d1/deep"]) {
      Deno.mkdirSync(\`\${ctx.outs.gen}/\${d}\`, { recursive: true });
      for (let i = 0; i < 5; i++) {
        Deno.writeTextFileSync(\`\${ctx.outs.gen}/\${d}/f\${i}.txt\`, \`\${seed.trim()} \${i}\\n\`);
      }
    }
  },
});

pipeline.stage({
  name: "count",
  deps: { gen: dep("gen/") },
  outs: { count: out("count.txt", loaders.text()) },
  run: ({ gen }) => ({ count: \`\${countFiles(gen)}\\n\` }),
});
`,
  "seed.txt": "seed\n",
};

test("a directory out's no-op runs in the launcher, and a changed, added or removed file is seen", async () => {
  await inBothProcesses(OUT_FILES, async ({ project, child, outputs }) => {
    const changed = async (what: string) => {
      const run = await pivot(project, ["repro"], child);
      assert(!run.stdout.includes("Everything is up to date"), `${what}: ${run.stdout}`);
      if (!child) assertEquals(run.way, "gated", `${what}: ${run.why}`);
      outputs.push(timeless(run.stdout));
      // The cached out is restored (a file added is left beside it, as the child leaves it).
      assertEquals(await project.read("gen/d1/deep/f4.txt"), "seed 4\n", what);
      assertEquals(await project.read("gen/d0/f1.txt"), "seed 1\n", what);
      outputs.push(await project.read("count.txt"));
    };
    assertEquals((await pivot(project, ["repro"], child)).code, 0);
    outputs.push(timeless((await settle(project, child)).stdout));

    await Deno.remove(project.path("gen", "d1", "deep", "f4.txt"));
    await changed("removed");
    await settle(project, child);

    await project.write("gen/d0/f1.txt", "SEED 1\n");
    await changed("same size");
    await settle(project, child);

    await project.write("gen/d1/deep/extra.txt", "extra\n");
    await changed("added");
    outputs.push(timeless((await settle(project, child)).stdout));
  });
});

test("a no-op decided in full stats a directory that is one stage's out and the next one's dep once", async () => {
  // The child alone: its verified index leaves directory stages to the full
  // decision (only the launcher's gate walks a directory to compare it),
  // as at 100,000 files, where the gate gives up.
  await using project = await TempProject.create(OUT_FILES);
  await pivot(project, ["repro"], true);
  await settle(project, true);
  const noop = await runPivot(project.root, ["repro"], {
    PIVOT_TRACE: "1",
    PIVOT_IN_LAUNCHER: "off",
  });
  assertEquals(noop.code, 0, noop.stderr);
  assert(noop.stdout.includes("Everything is up to date"), noop.stdout);
  // `generate`'s decision walks gen/ as its out; `count`'s, under its
  // lock, skips on that walk instead of stat-ing every file again.
  const walks = (stderr: string) =>
    stderr.split("\n").filter((line) => line.includes("walk of gen/: 10 files")).length;
  assertEquals(walks(noop.stderr), 1, noop.stderr);
  // After `generate` ran, `count`'s decision, under its lock, takes the
  // hash of the tree `generate` placed while this process still holds
  // `generate`'s lock (a `PlacementLease`), and runs on it: no walk at all,
  // and no second decision.
  await project.write("seed.txt", "other\n");
  const ran = await runPivot(project.root, ["repro"], {
    PIVOT_TRACE: "1",
    PIVOT_IN_LAUNCHER: "off",
  });
  assertEquals(ran.code, 0, ran.stderr);
  assert(/ran +count/.test(ran.stdout), ran.stdout);
  assertEquals(walks(ran.stderr), 0, ran.stderr);
  assert(!ran.stderr.includes("decided again with fresh walks"), ran.stderr);
  assertEquals(await project.read("count.txt"), "10\n");
  // The lock file records the tree's hash as a walk finds it now.
  const noopAfter = await runPivot(project.root, ["repro"], {
    PIVOT_TRACE: "1",
    PIVOT_IN_LAUNCHER: "off",
  });
  assert(noopAfter.stdout.includes("Everything is up to date"), noopAfter.stdout);
  assertEquals(walks(noopAfter.stderr), 1, noopAfter.stderr);
});
