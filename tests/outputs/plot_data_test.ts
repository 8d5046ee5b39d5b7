import { columnsOf, parsePlotRows, plotFileKind } from "../../lib/outputs/plot_data.ts";
import { assertEquals, assertRejects } from "../_assert.ts";
import { test } from "../_harness.ts";

test("plot files are data, images or pages by extension; others are not plots", () => {
  assertEquals(
    ["a.csv", "a.TSV", "a.json", "a.jsonl", "a.png", "a.svg", "a.jpeg", "a.html", "a.bin", "csv"]
      .map(plotFileKind),
    ["data", "data", "data", "data", "image", "image", "image", "html", undefined, undefined],
  );
});

test("CSV cells that are numbers become numbers, empty cells null, quoted text stays text", async () => {
  const rows = await parsePlotRows("m.csv", 'step,loss,label\n1,0.5,"7"\n2,,b\n', "m.csv");
  assertEquals(rows, [{ step: 1, loss: 0.5, label: "7" }, { step: 2, loss: null, label: "b" }]);
});

test("TSV is split on tabs", async () => {
  assertEquals(await parsePlotRows("m.tsv", "a\tb\n1\tx,y\n", "m.tsv"), [{ a: 1, b: "x,y" }]);
});

test("JSON plots are a list of rows, or an object holding one list", async () => {
  assertEquals(await parsePlotRows("a.json", '[{"x":1}]', "a.json"), [{ x: 1 }]);
  assertEquals(
    await parsePlotRows("a.json", '{"name":"t","train":[{"x":1},{"x":2}]}', "a.json"),
    [{ x: 1 }, { x: 2 }],
  );
  await assertRejects(
    () => parsePlotRows("a.json", '{"train":[],"val":[]}', "a.json"),
    /^a\.json: holds several lists \(train, val\)/,
  );
  await assertRejects(
    () => parsePlotRows("a.json", "[1,2]", "a.json at HEAD"),
    /a row .* got a number/,
  );
  await assertRejects(() => parsePlotRows("a.json", "{", "a.json"), /^a\.json: not valid JSON/);
});

test("JSON Lines: one row a line, blank lines skipped, a bad line named by number", async () => {
  assertEquals(await parsePlotRows("a.jsonl", '{"x":1}\n\n{"x":2}\n', "a.jsonl"), [{ x: 1 }, {
    x: 2,
  }]);
  await assertRejects(() => parsePlotRows("a.jsonl", '{"x":1}\n[]\n', "a.jsonl"), /^a\.jsonl:2:/);
});

test("a CSV that does not parse is one line naming the file", async () => {
  await assertRejects(
    () => parsePlotRows("m.csv", 'a,b\n1,"2\n', "m.csv at HEAD"),
    /^m\.csv at HEAD: not valid CSV: /,
  );
});

test("columns are listed in order of first appearance", () => {
  assertEquals(columnsOf([{ a: 1 }, { b: 2, a: 3 }, { c: 1 }]), ["a", "b", "c"]);
});
