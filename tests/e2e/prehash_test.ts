/**
 * A big dep whose stamp changed (touched, or rewritten with the same size)
 * is hashed from the child's first moment (lib/storage/prehash.ts): the
 * launcher's no-op gate names it to the child, which uses that hash for the
 * decision, and decides exactly as without it.
 */

import { age, runPivot, TempProject } from "../_project.ts";
import { assert, assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";

export const pipeline = new Pipeline("prehash");

pipeline.stage({
  name: "head",
  deps: { big: dep("data/big.bin") },
  outs: { o: out("head.txt", loaders.text()) },
  permissions: { env: ["PIVOT_PREHASH"] },
  run: ({ big }) => {
    using file = Deno.openSync(big);
    const first = new Uint8Array(4);
    file.readSync(first);
    return { o: \`\${first.join(",")} \${Deno.env.get("PIVOT_PREHASH") ?? "none"}\\n\` };
  },
});

pipeline.stage({
  name: "other",
  deps: { small: dep("data/small.txt") },
  outs: { o: out("other.txt", loaders.text()) },
  run: () => ({ o: "x\\n" }),
});
`;

// Over the 16 MiB from which a changed file is hashed early.
const SIZE = 17 * (1 << 20) + 3;

function big(first: number): Uint8Array {
  const data = new Uint8Array(SIZE);
  for (let i = 0; i < SIZE; i++) data[i] = (i * 7 + (i >> 9)) & 0xff;
  data[0] = first;
  return data;
}

/** A project run, aged, and run again: the verified index and the gate's snapshot hold. */
async function project(): Promise<TempProject> {
  const project = await TempProject.create({ "pipeline.ts": PIPELINE, "data/small.txt": "s\n" });
  await Deno.writeFile(project.path("data", "big.bin"), big(1));
  for (let i = 0; i < 2; i++) {
    const run = await project.pivot("repro");
    assertEquals(run.code, 0, run.stderr);
    age(project);
  }
  return project;
}

/** `pivot ARGS` with the trace on: the exit code, stdout, and the trace's prehash lines. */
async function traced(project: TempProject, args: string[]) {
  const result = await runPivot(project.root, args, { PIVOT_TRACE: "1" });
  const lines = result.stderr.split("\n");
  const prehash = lines.filter((line) => /^\[trace\].*\]\s+prehash: /.test(line))
    .map((line) => line.replace(/.*\]\s+prehash: /, "").replace(project.root, "."));
  const stderr = lines.filter((line) => !line.startsWith("[trace]")).join("\n");
  return { code: result.code, stdout: result.stdout, stderr, prehash };
}

test("a touched big dep is hashed from the child's start, and the run is a no-op", async () => {
  await using p = await project();
  for (const command of ["status", "repro"]) {
    const then = new Date(Date.now() - 30_000);
    Deno.utimeSync(p.path("data", "big.bin"), then, then);
    const run = await traced(p, [command]);
    assertEquals(run.code, 0, run.stderr);
    assertEquals(run.prehash, ["./data/big.bin", "./data/big.bin used"], command);
    if (command === "repro") assert(run.stdout.includes("up to date"), run.stdout);
  }
  assertEquals(await Deno.readTextFile(p.path("head.txt")), "1,7,14,21 none\n");
  // Recorded again: the next no-op needs no hash.
  const again = await traced(p, ["repro"]);
  assertEquals([again.code, again.prehash], [0, []]);
});

test("a big dep rewritten with the same size runs its stage, which does not see the launcher's word", async () => {
  await using p = await project();
  await Deno.writeFile(p.path("data", "big.bin"), big(9));
  const then = new Date(Date.now() - 30_000);
  Deno.utimeSync(p.path("data", "big.bin"), then, then);
  const run = await traced(p, ["repro"]);
  assertEquals(run.code, 0, run.stderr);
  assertEquals(run.prehash, ["./data/big.bin", "./data/big.bin used"]);
  assertEquals(await Deno.readTextFile(p.path("head.txt")), "9,7,14,21 none\n");
});

test("with targets named, nothing is hashed early (the dep may not be asked for)", async () => {
  await using p = await project();
  const then = new Date(Date.now() - 30_000);
  Deno.utimeSync(p.path("data", "big.bin"), then, then);
  const run = await traced(p, ["repro", "other"]);
  assertEquals([run.code, run.prehash], [0, []], run.stderr);
  // The full run after it still finds only a touch.
  const full = await traced(p, ["repro"]);
  assertEquals(full.code, 0, full.stderr);
  assertEquals(full.prehash, ["./data/big.bin", "./data/big.bin used"]);
  assertEquals(await Deno.readTextFile(p.path("head.txt")), "1,7,14,21 none\n");
});
