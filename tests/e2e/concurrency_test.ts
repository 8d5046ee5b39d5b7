import { type JsonEvent, spawnPivot, TempProject } from "../_project.ts";
import { assert, assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

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

test("Ctrl-C cancels running stages and leaves state consistent", async () => {
  await using p = await TempProject.create({ "pipeline.ts": SLOW });
  const child = spawnPivot(p.root, ["repro", "--json"]);
  // Wait until s0 has finished and s1 is running, then interrupt.
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes(`"stage":"s0"`)) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
  }
  await new Promise((resolve) => setTimeout(resolve, 60));
  child.kill("SIGINT");
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
  }
  const status = await child.status;
  await child.stderr.cancel();
  assertEquals(status.code, 130);
  const events = seen.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as JsonEvent);
  const byStatus = TempProject.byStatus(events);
  assertEquals(byStatus.ran, ["s0"]);
  assert((byStatus.cancelled ?? []).includes("s1"), seen);
  assert(!(await p.exists(".pivot/stages/s1.lock")), "a cancelled stage writes no lock");
  assert(!(await p.exists("out/s1.txt")), "a cancelled stage leaves no out");

  const next = await p.events("repro");
  assertEquals(TempProject.byStatus(next.events), { ran: ["s1", "s2", "s3"], skipped: ["s0"] });
});
