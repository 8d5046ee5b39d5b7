import { type JsonEvent, spawnPivot, TempProject } from "../_project.ts";
import { assert, assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";
import { Running } from "./_kill.ts";

const SLOW = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("slow");
for (const i of [0, 1, 2, 3]) {
  pipeline.stage({
    name: \`s\${i}\`,
    deps: i === 0 ? {} : { prev: dep(\`out/s\${i - 1}.txt\`, loaders.text()) },
    outs: { o: out(\`out/s\${i}.txt\`, loaders.text()) },
    run: async (_deps, ctx) => {
      await new Promise((resolve) => setTimeout(resolve, 250));
      ctx.signal.throwIfAborted();
      return { o: \`\${i} \${crypto.randomUUID()}\` };
    },
  });
}
`;

async function collect(
  child: Deno.ChildProcess,
): Promise<{ code: number; events: JsonEvent[]; stderr: string }> {
  const output = await child.output();
  const stdout = new TextDecoder().decode(output.stdout);
  return {
    code: output.code,
    stderr: new TextDecoder().decode(output.stderr),
    events: stdout.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l)),
  };
}

test("two concurrent repro processes run each stage once and agree", async () => {
  await using p = await TempProject.create({ "pipeline.ts": SLOW });
  const first = spawnPivot(p.root, ["repro", "--json"]);
  const second = spawnPivot(p.root, ["repro", "--json"]);
  const [a, b] = await Promise.all([collect(first), collect(second)]);
  assertEquals([a.code, b.code], [0, 0], a.stderr + b.stderr);
  const ran = [...a.events, ...b.events].filter((e) => e.type === "stage" && e.status === "ran");
  assertEquals(ran.map((e) => e.stage).sort(), ["s0", "s1", "s2", "s3"]);
  // Every lock file matches the out in the workspace: nothing was clobbered.
  const status = await p.status();
  assert(status.stages.every((s) => s.status === "up-to-date"), JSON.stringify(status));
  const again = await p.events("repro");
  assertEquals(TempProject.byStatus(again.events), { skipped: ["s0", "s1", "s2", "s3"] });
});

/**
 * A chain whose stages say they started, and whose s1, while `hold.txt`
 * (its dep) says "wait", waits until it is cancelled (a minute at most).
 */
const HOLD = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("hold");
for (const i of [0, 1, 2, 3]) {
  pipeline.stage({
    name: \`s\${i}\`,
    deps: {
      ...(i === 1 ? { hold: dep("hold.txt", loaders.text()) } : {}),
      ...(i === 0 ? {} : { prev: dep(\`out/s\${i - 1}.txt\`, loaders.text()) }),
    },
    outs: { o: out(\`out/s\${i}.txt\`, loaders.text()) },
    run: async ({ hold }, ctx) => {
      console.log("started");
      if (i === 1 && hold === "wait") {
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, 60_000);
          ctx.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            resolve(undefined);
          });
        });
      }
      ctx.signal.throwIfAborted();
      return { o: \`\${i} \${crypto.randomUUID()}\` };
    },
  });
}
`;

test("Ctrl-C cancels running stages and leaves state consistent", async () => {
  await using p = await TempProject.create({ "pipeline.ts": HOLD, "hold.txt": "wait" });
  const run = new Running(spawnPivot(p.root, ["repro", "--json"]));
  // Interrupt once s1 runs: s0 has placed its outs by then (it may still be
  // writing its lock file: its downstream starts before that).
  await run.until((r) => r.stderr.includes("[s1] started"), "s1 to start");
  Deno.kill(run.pid, "SIGINT");
  const status = await run.status;
  assertEquals(status.code, 130);
  const seen = run.stdout;
  const events = seen.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as JsonEvent);
  const byStatus = TempProject.byStatus(events);
  assertEquals(byStatus.ran, ["s0"]);
  assert((byStatus.cancelled ?? []).includes("s1"), seen);
  assert(!(await p.exists(".pivot/stages/s1.lock")), "a cancelled stage writes no lock");
  assert(!(await p.exists("out/s1.txt")), "a cancelled stage leaves no out");

  await p.write("hold.txt", "go");
  const next = await p.events("repro");
  assertEquals(TempProject.byStatus(next.events), { ran: ["s1", "s2", "s3"], skipped: ["s0"] });
});

/**
 * Stages with directory deps, which are decided under their own lock when
 * it is free: a data directory read by `gen`, whose directory out is read
 * by `use`.
 */
const DIRS = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("dirs");
pipeline.stage({
  name: "gen",
  deps: { data: dep("data/") },
  outs: { gen: out("gen/") },
  run: async ({ data }, ctx) => {
    await new Promise((resolve) => setTimeout(resolve, 250));
    for (const entry of Deno.readDirSync(data)) {
      const text = Deno.readTextFileSync(\`\${data}/\${entry.name}\`);
      Deno.writeTextFileSync(\`\${ctx.outs.gen}/\${entry.name}\`, \`\${text} \${crypto.randomUUID()}\`);
    }
  },
});
pipeline.stage({
  name: "use",
  deps: { gen: dep("gen/") },
  outs: { n: out("use.txt", loaders.text()) },
  run: ({ gen }) => ({ n: [...Deno.readDirSync(gen)].map((e) => e.name).sort().join(",") }),
});
`;

test("two concurrent repro processes on directory deps run each stage once and agree", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": DIRS,
    "data/a.txt": "a",
    "data/b.txt": "b",
  });
  for (const round of [1, 2]) {
    if (round === 2) await p.write("data/c.txt", "c");
    const [a, b] = await Promise.all([
      collect(spawnPivot(p.root, ["repro", "--json"])),
      collect(spawnPivot(p.root, ["repro", "--json"])),
    ]);
    assertEquals([a.code, b.code], [0, 0], a.stderr + b.stderr);
    const ran = [...a.events, ...b.events].filter((e) => e.type === "stage" && e.status === "ran");
    assertEquals(ran.map((e) => e.stage).sort(), ["gen", "use"], `round ${round}`);
    const status = await p.status();
    assert(status.stages.every((s) => s.status === "up-to-date"), JSON.stringify(status));
  }
  assertEquals(await p.read("use.txt"), "a.txt,b.txt,c.txt");
  const again = await p.events("repro");
  assertEquals(TempProject.byStatus(again.events), { skipped: ["gen", "use"] });
});
