import { StageConsole } from "../../lib/worker/_stage_console.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

function collect(): { lines: string[]; console: StageConsole } {
  const lines: string[] = [];
  return { lines, console: new StageConsole((stream, line) => lines.push(`${stream}:${line}`)) };
}

test("a console call with line breaks becomes one line each", () => {
  const { lines, console } = collect();
  console.line("stdout", "a\nb");
  assertEquals(lines, ["stdout:a", "stdout:b"]);
});

test("raw writes are kept until their line ends, and joined with a console call after them", () => {
  const { lines, console } = collect();
  console.write("stdout", "progress ");
  console.write("stdout", "50%");
  assertEquals(lines, []);
  console.line("stdout", " done");
  assertEquals(lines, ["stdout:progress 50% done"]);
});

test("flush passes on text without a line break; streams are kept apart; \\r\\n is one break", () => {
  const { lines, console } = collect();
  console.write("stderr", "warn");
  console.write("stdout", "out\r\nmore");
  console.flush();
  console.flush();
  assertEquals(lines, ["stdout:out", "stdout:more", "stderr:warn"]);
});
