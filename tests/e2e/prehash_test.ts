/**
 * A dep whose stamp changed but not its size (touched, or rewritten with the
 * same size) is hashed by the launcher (lib/cli/gate_rehash.ts): when its
 * content is the recorded one, the launcher answers the no-op itself and
 * records the new stamp (unless racy); when it changed, the child takes the
 * launcher's hash (lib/storage/prehash.ts) instead of reading the file
 * again. A big dep whose size changed is hashed from the child's first
 * moment. Either way the decision is exactly the one made without them.
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
  for (let i = 0; i < 3; i++) {
    const run = await project.pivot("repro");
    assertEquals(run.code, 0, run.stderr);
    // Aged between runs, not after the last: that one recorded every stamp as it is.
    if (i < 2) age(project);
  }
  return project;
}

/**
 * `pivot ARGS` with the trace on: the exit code, stdout, the trace's
 * prehash lines, the gate's lines, and whether the child ran the command.
 */
async function traced(project: TempProject, args: string[]) {
  const result = await runPivot(project.root, args, { PIVOT_TRACE: "1" });
  const lines = result.stderr.split("\n");
  const matching = (pattern: RegExp) =>
    lines.filter((line) => line.startsWith("[trace]") && pattern.test(line))
      .map((line) => line.replace(pattern, "").replaceAll(project.root, "."));
  const prehash = matching(/.*\]\s+prehash: /);
  const gate = matching(/.*\]\s+launcher: no-op gate: /);
  const child = gate.some((line) => line.endsWith("the child runs the command")) ||
    lines.some((line) => line.includes("needs the child process"));
  const stderr = lines.filter((line) => !line.startsWith("[trace]")).join("\n");
  return { code: result.code, stdout: result.stdout, stderr, prehash, gate, child };
}

test("a touched big dep is hashed by the launcher, which answers the no-op and records its stamp", async () => {
  await using p = await project();
  for (const [command, seconds] of [["status", 30], ["repro", 40]]) {
    const then = new Date(Date.now() - (seconds as number) * 1000);
    Deno.utimeSync(p.path("data", "big.bin"), then, then);
    const run = await traced(p, [command as string]);
    assertEquals(run.code, 0, run.stderr);
    assertEquals(
      [run.gate, run.prehash, run.child],
      [["hashed ./data/big.bin", "every stamp holds"], [], false],
      command as string,
    );
    assert(run.stdout.includes("up to date"), run.stdout);
  }
  assertEquals(await Deno.readTextFile(p.path("head.txt")), "1,7,14,21 none\n");
  // Recorded again: the next no-op needs no hash.
  const again = await traced(p, ["repro"]);
  assertEquals([again.code, again.gate, again.prehash], [0, ["every stamp holds"], []]);
});

test("a touched dep whose stamp is racy is answered by its hash but not recorded: hashed again next time", async () => {
  await using p = await project();
  // Ahead of any clock marker: racy (a rewrite could keep this stamp).
  const ahead = new Date(Date.now() + 3_600_000);
  Deno.utimeSync(p.path("data", "big.bin"), ahead, ahead);
  for (let i = 0; i < 2; i++) {
    const run = await traced(p, ["repro"]);
    assertEquals(run.code, 0, run.stderr);
    assertEquals(
      [run.gate, run.prehash, run.child],
      [["hashed ./data/big.bin", "every stamp holds"], [], false],
      `run ${i}`,
    );
    assert(run.stdout.includes("up to date"), run.stdout);
  }
  // Settled at last: recorded, and not hashed again.
  const then = new Date(Date.now() - 30_000);
  Deno.utimeSync(p.path("data", "big.bin"), then, then);
  assertEquals((await traced(p, ["repro"])).gate, ["hashed ./data/big.bin", "every stamp holds"]);
  assertEquals((await traced(p, ["repro"])).gate, ["every stamp holds"]);
});

test("a big dep rewritten with the same size runs its stage, with the launcher's hash, read once", async () => {
  await using p = await project();
  await Deno.writeFile(p.path("data", "big.bin"), big(9));
  const then = new Date(Date.now() - 30_000);
  Deno.utimeSync(p.path("data", "big.bin"), then, then);
  const run = await traced(p, ["repro"]);
  assertEquals(run.code, 0, run.stderr);
  assertEquals(run.gate, [
    "hashed ./data/big.bin",
    "./data/big.bin changed (its content): the child runs the command",
  ]);
  assertEquals([run.prehash, run.child], [["./data/big.bin used"], true]);
  // The stage does not see the launcher's word.
  assertEquals(await Deno.readTextFile(p.path("head.txt")), "9,7,14,21 none\n");
  const again = await traced(p, ["repro"]);
  assert(again.stdout.includes("up to date"), again.stdout);
});

test("a big dep whose size changed is hashed from the child's start", async () => {
  await using p = await project();
  const data = big(5);
  await Deno.writeFile(p.path("data", "big.bin"), data.subarray(0, SIZE - 1));
  const then = new Date(Date.now() - 30_000);
  Deno.utimeSync(p.path("data", "big.bin"), then, then);
  const run = await traced(p, ["repro"]);
  assertEquals(run.code, 0, run.stderr);
  assertEquals(run.prehash, ["./data/big.bin", "./data/big.bin used"]);
  assertEquals(await Deno.readTextFile(p.path("head.txt")), "5,7,14,21 none\n");
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
  assertEquals([full.gate[0], full.prehash, full.child], ["hashed ./data/big.bin", [], false]);
  assertEquals(await Deno.readTextFile(p.path("head.txt")), "1,7,14,21 none\n");
});
