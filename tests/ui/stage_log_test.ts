/** The log of a stage's last run outlives the process that ran it. */

import { assert, assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";
import { TempProject } from "../_project.ts";
import { UiProcess } from "./_ui.ts";

const PIPELINE = `import { loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("logged");
pipeline.stage({
  name: "talk",
  outs: { o: out("build/talk.txt", loaders.text()) },
  params: { word: "one" },
  run: (_deps, { params }) => {
    console.log("saying " + params.word);
    console.error("careful");
    return { o: params.word };
  },
});
`;

interface Detail {
  log: { lines: { stream: string; text: string }[]; finished?: number; status?: string } | null;
  runs: { status: string; duration_ms: number; finished: number; command?: string }[];
}

test("stage log: a run in a terminal is shown by a UI started later; --no-commit records nothing", async () => {
  const project = await TempProject.create({ "pipeline.ts": PIPELINE });
  try {
    const before = Date.now();
    assertEquals((await project.pivot("repro")).code, 0);
    // A --no-commit run leaves the recorded log as it was.
    await project.write("params.yaml", "talk:\n  word: two\n");
    assertEquals((await project.pivot("repro", "--no-commit")).code, 0);
    const ui = await UiProcess.start(project.root);
    try {
      const detail = await ui.json<Detail>("/api/stage?name=talk");
      assertEquals(detail.log?.lines, [
        { stream: "stdout", text: "saying one" },
        { stream: "stderr", text: "careful" },
      ]);
      assertEquals(detail.log?.status, "ran");
      assert((detail.log?.finished ?? 0) >= before);
      // The run history has the terminal's run (the --no-commit one is not recorded).
      assertEquals(detail.runs.map((r) => [r.status, r.command]), [["ran", "pivot repro"]]);
      assert(detail.runs[0].duration_ms >= 0 && detail.runs[0].finished >= before);
    } finally {
      await ui.stop();
    }
  } finally {
    await project.dispose();
  }
});
