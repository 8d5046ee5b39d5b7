/** `lib/jsonc.ts`: how the launcher and the fingerprint read `deno.json(c)`. */

import { readJsoncObject, stripJsonc } from "../lib/jsonc.ts";
import { assertEquals, assertThrows } from "./_assert.ts";
import { test } from "./_harness.ts";
import { tempDir } from "./_project.ts";

test("stripJsonc returns text that already is JSON as it is", () => {
  const text = '{\n  "a": "x // not a comment /* nor this */",\n  "b": [1, 2]\n}\n';
  assertEquals(stripJsonc(text), text);
});

test("stripJsonc drops comments and trailing commas, not string contents", () => {
  const text = [
    "{",
    '  // a line comment, "quoted"',
    '  "url": "https://example.com/x", /* a block',
    "  comment */",
    '  "list": [1, 2,],',
    '  "s": "a, } // b",',
    "}",
  ].join("\n");
  assertEquals(JSON.parse(stripJsonc(text)), {
    url: "https://example.com/x",
    list: [1, 2],
    s: "a, } // b",
  });
});

test("stripJsonc leaves what is not JSON(C) to fail in JSON.parse", () => {
  assertThrows(() => JSON.parse(stripJsonc('{"a": }')), SyntaxError);
});

test("readJsoncObject reads JSON and JSONC objects, and nothing else", async () => {
  await using temp = await tempDir();
  const dir = temp.root;
  await Deno.writeTextFile(`${dir}/a.json`, '{"unstable": ["kv"]}');
  await Deno.writeTextFile(`${dir}/b.jsonc`, '{\n  // c\n  "unstable": ["kv",],\n}');
  await Deno.writeTextFile(`${dir}/c.json`, "[1]");
  await Deno.writeTextFile(`${dir}/d.json`, "{ nope");
  assertEquals(readJsoncObject(`${dir}/a.json`), { unstable: ["kv"] });
  assertEquals(readJsoncObject(`${dir}/b.jsonc`), { unstable: ["kv"] });
  assertEquals(readJsoncObject(`${dir}/c.json`), undefined);
  assertEquals(readJsoncObject(`${dir}/d.json`), undefined);
  assertEquals(readJsoncObject(`${dir}/missing.json`), undefined);
});
