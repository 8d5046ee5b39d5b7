/**
 * A closed stdout is not an error (issue 10, item 13): `pivot status | head
 * -1` stops writing and exits as Unix tools do (141, 128 + SIGPIPE), and a
 * run whose reader went away still finishes and records its work.
 */

import { CLI, spawnPivot, TempProject } from "../_project.ts";
import { assert, assertEquals, assertMatch, assertNotMatch } from "../_assert.ts";
import { output, test } from "../_harness.ts";

const STAGES = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("p");
for (let i = 0; i < 30; i++) {
  pipeline.stage({
    name: \`s\${i}\`,
    deps: i === 0 ? {} : { prev: dep(\`out/s\${i - 1}.txt\`, loaders.text()) },
    outs: { o: out(\`out/s\${i}.txt\`, loaders.text()) },
    run: () => ({ o: \`stage \${i}\` }),
  });
}
`;

/** Run `pivot ARGS | READER` in bash; the exit codes of both sides and stderr. */
async function piped(
  p: TempProject,
  args: string,
  reader: string,
): Promise<{ pivot: number; reader: number; stdout: string; stderr: string }> {
  const script = `"${Deno.execPath()}" run -A "${CLI}" ${args} | ${reader}; ` +
    `echo "codes: \${PIPESTATUS[0]} \${PIPESTATUS[1]}" >&2`;
  const result = await output("bash", {
    args: ["-c", script],
    cwd: p.root,
    env: { NO_COLOR: "1" },
  });
  const decoder = new TextDecoder();
  const stderr = decoder.decode(result.stderr);
  const codes = /codes: (\d+) (\d+)\s*$/.exec(stderr);
  assert(codes, stderr);
  return {
    pivot: Number(codes[1]),
    reader: Number(codes[2]),
    stdout: decoder.decode(result.stdout),
    stderr: stderr.replace(/codes: .*\s*$/, ""),
  };
}

/** The checks every closed-pipe case shares: no "bug", no stack, exit 141. */
function assertQuietPipeEnd(result: { pivot: number; stderr: string }): void {
  assertNotMatch(result.stderr, /Broken pipe|bug in pivot|error/i);
  assertEquals(result.pivot, 141, result.stderr);
}

test("pivot status | head -1 prints one line and ends quietly", async () => {
  await using p = await TempProject.create({ "pipeline.ts": STAGES });
  const result = await piped(p, "status", "head -1");
  assertMatch(result.stdout, /^s0 +will run +\(never-run\)\n$/);
  assertEquals(result.reader, 0);
  // head may read everything before pivot writes again: then pivot ends with 0.
  assert(result.pivot === 141 || result.pivot === 0, `exit ${result.pivot}`);
  assertNotMatch(result.stderr, /Broken pipe|bug in pivot|error/i);
});

test("status, list and repro --json into a reader that has gone exit 141 without an error", async () => {
  await using p = await TempProject.create({ "pipeline.ts": STAGES });
  for (const args of ["status", "list", "list --json", "status --json"]) {
    // `true` exits before pivot writes anything: every write meets a closed pipe.
    assertQuietPipeEnd(await piped(p, args, "true"));
  }
});

test("a run whose stdout is closed still finishes and records every stage", async () => {
  await using p = await TempProject.create({ "pipeline.ts": STAGES });
  const child = spawnPivot(p.root, ["repro", "--json"]);
  await child.stdout.cancel(); // the reader goes away at once
  const result = await child.output();
  const stderr = new TextDecoder().decode(result.stderr);
  assertQuietPipeEnd({ pivot: result.code, stderr });
  assertEquals(await p.read("out/s29.txt"), "stage 29");
  assert(await p.exists(".pivot/stages/s29.lock"));
  const status = await p.status();
  assert(status.stages.every((s) => s.status === "up-to-date"), JSON.stringify(status));
});

test("a failing run keeps its exit code when its stdout is closed", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": STAGES.replace(
      "run: () => ({ o: `stage ${i}` })",
      "run: () => { throw new Error(`no ${i}`); }",
    ),
  });
  const result = await piped(p, "repro", "true");
  assertEquals(result.pivot, 1, result.stderr);
  assertMatch(result.stderr, /FAILED\s+s0/);
  assertNotMatch(result.stderr, /Broken pipe|bug in pivot/);
});
