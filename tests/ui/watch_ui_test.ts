/** `repro --watch --ui`: the same page follows watch waves. */

import { assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";
import { TempProject } from "../_project.ts";
import { EventStream, UiProcess } from "./_ui.ts";

const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("watched");
pipeline.stage({
  name: "copy",
  deps: { src: dep("data/input.txt", loaders.text()) },
  outs: { o: out("build/copy.txt", loaders.text()) },
  run: ({ src }) => ({ o: src }),
});
`;

test("repro --watch --ui: the page's events follow each watch wave; stdout stays JSON Lines", async () => {
  const project = await TempProject.create({ "pipeline.ts": PIPELINE, "data/input.txt": "a" });
  const ui = await UiProcess.start(project.root, [
    "repro",
    "--watch",
    "--ui",
    "--json",
    "--debounce",
    "100",
  ]);
  let events: EventStream | undefined;
  try {
    events = await EventStream.open(ui);
    const first = await events.next((m) => m.type === "snapshot", "a snapshot");
    assertEquals((first.snapshot as { mode: string }).mode, "watch");
    // The first run of watch mode, to its end.
    await ui.until(async () => {
      const s = await ui.json<{
        states: Record<string, { status: string }>;
        wave: { running: boolean; summary?: unknown };
      }>("/api/snapshot");
      return ["ran", "up-to-date"].includes(s.states.copy?.status ?? "") &&
        !s.wave.running && s.wave.summary !== undefined;
    }, "the first wave");
    const from = events.messages.length;
    await project.write("data/input.txt", "b");
    const running = await events.next(
      (m) =>
        m.type === "states" &&
        (m.states as Record<string, { status: string }>).copy?.status === "running",
      "copy running after the edit",
      from,
    );
    await events.next(
      (m) =>
        m.type === "states" &&
        (m.states as Record<string, { status: string }>).copy?.status === "ran",
      "copy ran after the edit",
      events.messages.indexOf(running) + 1,
    );
    assertEquals(await project.read("build/copy.txt"), "b");
  } finally {
    await events?.close();
    const code = await ui.stop();
    await project.dispose();
    assertEquals(code, 130);
  }
  // The URL went to stderr; stdout held only events.
  assertMatch(ui.output, /Pivot UI: http:\/\/127\.0\.0\.1:\d+\/\?token=/);
  const lines = ui.stdout.split("\n").filter((line) => line.trim() !== "");
  assertEquals(lines.filter((line) => line.includes('"type":"summary"')).length, 2);
  for (const line of lines) assertEquals(typeof JSON.parse(line).type, "string");
});
