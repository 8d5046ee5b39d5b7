import * as loaders from "../../lib/api/loaders.ts";
import { isPathOnly, LOADER_SPEC, loaderSpecOf } from "../../lib/model/loader_spec.ts";
import { tempDir } from "../_project.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import { test } from "../_harness.ts";

test("json round-trips a value and indents by 2 by default", async () => {
  await using dir = await tempDir();
  const loader = loaders.json<{ a: number[]; b: string }>();
  const value = { a: [1, 2], b: "x" };
  await loader.save(value, dir.path("v.json"));
  assertEquals(await loader.load(dir.path("v.json")), value);
  assertEquals(await Deno.readTextFile(dir.path("v.json")), JSON.stringify(value, null, 2) + "\n");
});

test("json with indent 0 writes one line", async () => {
  await using dir = await tempDir();
  await loaders.json({ indent: 0 }).save({ a: [1, 2] }, dir.path("v.json"));
  assertEquals(await Deno.readTextFile(dir.path("v.json")), '{"a":[1,2]}\n');
});

test("yaml round-trips a value", async () => {
  await using dir = await tempDir();
  const loader = loaders.yaml<Record<string, unknown>>();
  const value = { name: "run", list: [1, "two", true], nested: { x: null } };
  await loader.save(value, dir.path("v.yaml"));
  assertEquals(await loader.load(dir.path("v.yaml")), value);
  assertMatch(await Deno.readTextFile(dir.path("v.yaml")), /^name: run$/m);
});

test("jsonl writes one value a line and reads them back", async () => {
  await using dir = await tempDir();
  const loader = loaders.jsonl<{ id: number }>();
  await loader.save([{ id: 1 }, { id: 2 }], dir.path("v.jsonl"));
  assertEquals(await Deno.readTextFile(dir.path("v.jsonl")), '{"id":1}\n{"id":2}\n');
  assertEquals(await loader.load(dir.path("v.jsonl")), [{ id: 1 }, { id: 2 }]);
});

test("jsonl skips blank lines", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(dir.path("v.jsonl"), '\n{"id":1}\n   \n\n{"id":2}\n\n');
  assertEquals(await loaders.jsonl().load(dir.path("v.jsonl")), [{ id: 1 }, { id: 2 }]);
});

test("jsonl of no rows is an empty file", async () => {
  await using dir = await tempDir();
  await loaders.jsonl().save([], dir.path("v.jsonl"));
  assertEquals(await Deno.readTextFile(dir.path("v.jsonl")), "");
  assertEquals(await loaders.jsonl().load(dir.path("v.jsonl")), []);
});

test("text round-trips a string exactly", async () => {
  await using dir = await tempDir();
  const value = "line one\nünïcödé\n\nno trailing newline";
  await loaders.text().save(value, dir.path("v.txt"));
  assertEquals(await loaders.text().load(dir.path("v.txt")), value);
});

test("bytes round-trips binary content", async () => {
  await using dir = await tempDir();
  const value = new Uint8Array([0, 255, 10, 13, 128]);
  await loaders.bytes().save(value, dir.path("v.bin"));
  assertEquals(await loaders.bytes().load(dir.path("v.bin")), value);
});

test("csv reads rows keyed by header, every cell a string", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(dir.path("d.csv"), "id,value\na,1\n\nb,\n");
  assertEquals(await loaders.csv().load(dir.path("d.csv")), [
    { id: "a", value: "1" },
    { id: "b", value: "" },
  ]);
});

test("csv writes a header row and round-trips", async () => {
  await using dir = await tempDir();
  const rows = [{ id: "a", note: "has, comma" }, { id: "b", note: 'has "quote"' }];
  await loaders.csv().save(rows, dir.path("d.csv"));
  const text = await Deno.readTextFile(dir.path("d.csv"));
  assertEquals(text.split("\n")[0], "id,note");
  assertEquals(await loaders.csv().load(dir.path("d.csv")), rows);
});

test("csv with a separator reads and writes with it", async () => {
  await using dir = await tempDir();
  const loader = loaders.csv({ separator: ";" });
  await loader.save([{ a: "1,5", b: "x" }], dir.path("d.csv"));
  assertEquals(await Deno.readTextFile(dir.path("d.csv")), "a;b\n1,5;x\n");
  assertEquals(await loader.load(dir.path("d.csv")), [{ a: "1,5", b: "x" }]);
});

test("csv typed columns convert numbers and booleans and round-trip", async () => {
  await using dir = await tempDir();
  const loader = loaders.csv({ columns: { n: "number", ok: "boolean" } });
  await Deno.writeTextFile(dir.path("d.csv"), "name,n,ok\nx,1.5,true\ny,-2,0\nz,3e2,TRUE\n");
  const rows = await loader.load(dir.path("d.csv"));
  assertEquals(rows, [
    { name: "x", n: 1.5, ok: true },
    { name: "y", n: -2, ok: false },
    { name: "z", n: 300, ok: true },
  ]);
  await loader.save(rows, dir.path("out.csv"));
  assertEquals(
    await Deno.readTextFile(dir.path("out.csv")),
    "name,n,ok\nx,1.5,true\ny,-2,false\nz,300,true\n",
  );
  assertEquals(await loader.load(dir.path("out.csv")), rows);
});

test("csv: a cell that is not a number is an error naming the column and the file", async () => {
  await using dir = await tempDir();
  const path = dir.path("d.csv");
  await Deno.writeTextFile(path, "name,n\nx,1\ny,twelve\n");
  const error = await assertRejects(
    () => loaders.csv({ columns: { n: "number" } }).load(path),
    /column 'n': expected a number, got 'twelve'/,
  );
  assert(error.message.includes(path), error.message);
});

test("csv: a cell that is not a boolean is an error naming the column", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(dir.path("d.csv"), "ok\nmaybe\n");
  await assertRejects(
    () => loaders.csv({ columns: { ok: "boolean" } }).load(dir.path("d.csv")),
    /column 'ok': expected a boolean, got 'maybe'/,
  );
});

test("csv: a typed column missing from the header is an error naming it", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(dir.path("d.csv"), "name\nx\n");
  await assertRejects(
    () => loaders.csv({ columns: { n: "number" } }).load(dir.path("d.csv")),
    /column 'n' is missing/,
  );
});

test("csv of no rows with typed columns writes just the header", async () => {
  await using dir = await tempDir();
  const loader = loaders.csv({ columns: { n: "number", ok: "boolean" } });
  await loader.save([], dir.path("d.csv"));
  assertEquals(await Deno.readTextFile(dir.path("d.csv")), "n,ok\n");
  assertEquals(await loader.load(dir.path("d.csv")), []);
});

test("pathOnly gives the path and is recognised as path-only", async () => {
  const loader = loaders.pathOnly();
  assertEquals(await loader.load("/some/where.bin"), "/some/where.bin");
  assertEquals(isPathOnly(loader), true);
  assertEquals(isPathOnly(loaders.json()), false);
  assertEquals(loaderSpecOf(loader), { kind: "pathOnly", options: {} });
});

test("built-in loaders carry their kind and options in LOADER_SPEC", () => {
  assertEquals(loaders.json()[LOADER_SPEC], { kind: "json", options: { indent: 2 } });
  assertEquals(loaders.json({ indent: 4 })[LOADER_SPEC].options, { indent: 4 });
  assertEquals(loaders.csv({ separator: "\t", columns: { n: "number" } })[LOADER_SPEC], {
    kind: "csv",
    options: { separator: "\t", columns: { n: "number" } },
  });
  assertEquals(loaders.csv()[LOADER_SPEC].options, { separator: ",", columns: {} });
  for (const kind of ["yaml", "jsonl", "text", "bytes"] as const) {
    assertEquals(loaderSpecOf(loaders[kind]()), { kind, options: {} });
  }
});

test("a custom loader has no spec", () => {
  const custom = { load: (path: string) => path, save: () => {} };
  assertEquals(loaderSpecOf(custom), undefined);
  assertEquals(loaderSpecOf(null), undefined);
});

test("csv: an empty number cell reads as NaN and is written back empty", async () => {
  await using dir = await tempDir();
  const loader = loaders.csv({ columns: { n: "number" } });
  await Deno.writeTextFile(dir.path("in.csv"), "id,n\na,\nb,2\n");
  const rows = await loader.load(dir.path("in.csv"));
  assert(Number.isNaN(rows[0].n));
  await loader.save(rows, dir.path("out.csv"));
  assertEquals(await Deno.readTextFile(dir.path("out.csv")), "id,n\na,\nb,2\n");
  assertEquals(await loader.load(dir.path("out.csv")), rows);
});

test("csv save writes every column any row has, in order of first appearance", async () => {
  await using dir = await tempDir();
  await loaders.csv().save([{ a: "1" }, { a: "2", b: "x" }], dir.path("rows.csv"));
  assertEquals(await dir.read("rows.csv"), "a,b\n1,\n2,x\n");
});

test("loaders without options make a new object each call, alike in what they do", async () => {
  await using dir = await tempDir();
  for (const make of [loaders.text, loaders.bytes, loaders.pathOnly] as (() => object)[]) {
    const [first, second] = [make(), make()];
    assert(first !== second, "a new object each call");
    assertEquals(loaderSpecOf(first), loaderSpecOf(second));
    assert(Object.isFrozen(loaderSpecOf(first)), "the shared spec cannot be changed");
  }
  const text = loaders.text();
  await text.save("hi", dir.path("a.txt"));
  assertEquals(await text.load(dir.path("a.txt")), "hi");
  assert(text.load(dir.path("a.txt")) instanceof Promise, "load answers with a promise");
  assertEquals(loaderSpecOf(text), { kind: "text", options: {} });
  assertEquals(loaderSpecOf(loaders.pathOnly()), { kind: "pathOnly", options: {} });
  assertEquals(await loaders.pathOnly().load("/x"), "/x");
});

test("files saves a directory of files from an object and loads it back, as bytes or text", async () => {
  await using dir = await tempDir();
  const bytes = loaders.files();
  await bytes.save(
    { "a.bin": new Uint8Array([1, 2]), "sub/deep/b.bin": new Uint8Array([]) },
    dir.path("d"),
  );
  assertEquals(await bytes.load(dir.path("d")), {
    "a.bin": new Uint8Array([1, 2]),
    "sub/deep/b.bin": new Uint8Array([]),
  });
  const text = loaders.files({ text: true });
  await text.save({ "x.txt": "naïve\n", "y/z.txt": "zed" }, dir.path("t/"));
  assertEquals(await text.load(dir.path("t/")), { "x.txt": "naïve\n", "y/z.txt": "zed" });
  assertEquals(loaderSpecOf(text), { kind: "files", options: { text: true } });
  assertEquals(loaderSpecOf(bytes), { kind: "files", options: { text: false } });
});

test("files writes nothing when a returned path would leave the directory", async () => {
  await using dir = await tempDir();
  await assertRejects(
    async () =>
      await loaders.files({ text: true }).save({ "ok.txt": "a", "../up.txt": "b" }, dir.path("d")),
    Error,
    /file '\.\.\/up\.txt' leads out of the directory through '\.\.'/,
  );
  await assertRejects(() => Deno.stat(dir.path("d")), Deno.errors.NotFound);
  await assertRejects(() => Deno.stat(dir.path("up.txt")), Deno.errors.NotFound);
});
