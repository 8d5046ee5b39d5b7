import assert from "node:assert/strict";
import * as loaders from "../../lib/api/loaders.ts";
import { isPathOnly, LOADER_SPEC, loaderSpecOf } from "../../lib/model/loader_spec.ts";
import { tempDir } from "../_helpers.ts";

Deno.test("json round-trips a value and indents by 2 by default", async () => {
  await using dir = await tempDir();
  const loader = loaders.json<{ a: number[]; b: string }>();
  const value = { a: [1, 2], b: "x" };
  await loader.save(value, dir.join("v.json"));
  assert.deepEqual(await loader.load(dir.join("v.json")), value);
  assert.equal(await Deno.readTextFile(dir.join("v.json")), JSON.stringify(value, null, 2) + "\n");
});

Deno.test("json with indent 0 writes one line", async () => {
  await using dir = await tempDir();
  await loaders.json({ indent: 0 }).save({ a: [1, 2] }, dir.join("v.json"));
  assert.equal(await Deno.readTextFile(dir.join("v.json")), '{"a":[1,2]}\n');
});

Deno.test("yaml round-trips a value", async () => {
  await using dir = await tempDir();
  const loader = loaders.yaml<Record<string, unknown>>();
  const value = { name: "run", list: [1, "two", true], nested: { x: null } };
  await loader.save(value, dir.join("v.yaml"));
  assert.deepEqual(await loader.load(dir.join("v.yaml")), value);
  assert.match(await Deno.readTextFile(dir.join("v.yaml")), /^name: run$/m);
});

Deno.test("jsonl writes one value a line and reads them back", async () => {
  await using dir = await tempDir();
  const loader = loaders.jsonl<{ id: number }>();
  await loader.save([{ id: 1 }, { id: 2 }], dir.join("v.jsonl"));
  assert.equal(await Deno.readTextFile(dir.join("v.jsonl")), '{"id":1}\n{"id":2}\n');
  assert.deepEqual(await loader.load(dir.join("v.jsonl")), [{ id: 1 }, { id: 2 }]);
});

Deno.test("jsonl skips blank lines", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(dir.join("v.jsonl"), '\n{"id":1}\n   \n\n{"id":2}\n\n');
  assert.deepEqual(await loaders.jsonl().load(dir.join("v.jsonl")), [{ id: 1 }, { id: 2 }]);
});

Deno.test("jsonl of no rows is an empty file", async () => {
  await using dir = await tempDir();
  await loaders.jsonl().save([], dir.join("v.jsonl"));
  assert.equal(await Deno.readTextFile(dir.join("v.jsonl")), "");
  assert.deepEqual(await loaders.jsonl().load(dir.join("v.jsonl")), []);
});

Deno.test("text round-trips a string exactly", async () => {
  await using dir = await tempDir();
  const value = "line one\nünïcödé\n\nno trailing newline";
  await loaders.text().save(value, dir.join("v.txt"));
  assert.equal(await loaders.text().load(dir.join("v.txt")), value);
});

Deno.test("bytes round-trips binary content", async () => {
  await using dir = await tempDir();
  const value = new Uint8Array([0, 255, 10, 13, 128]);
  await loaders.bytes().save(value, dir.join("v.bin"));
  assert.deepEqual(await loaders.bytes().load(dir.join("v.bin")), value);
});

Deno.test("csv reads rows keyed by header, every cell a string", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(dir.join("d.csv"), "id,value\na,1\n\nb,\n");
  assert.deepEqual(await loaders.csv().load(dir.join("d.csv")), [
    { id: "a", value: "1" },
    { id: "b", value: "" },
  ]);
});

Deno.test("csv writes a header row and round-trips", async () => {
  await using dir = await tempDir();
  const rows = [{ id: "a", note: "has, comma" }, { id: "b", note: 'has "quote"' }];
  await loaders.csv().save(rows, dir.join("d.csv"));
  const text = await Deno.readTextFile(dir.join("d.csv"));
  assert.equal(text.split("\n")[0], "id,note");
  assert.deepEqual(await loaders.csv().load(dir.join("d.csv")), rows);
});

Deno.test("csv with a separator reads and writes with it", async () => {
  await using dir = await tempDir();
  const loader = loaders.csv({ separator: ";" });
  await loader.save([{ a: "1,5", b: "x" }], dir.join("d.csv"));
  assert.equal(await Deno.readTextFile(dir.join("d.csv")), "a;b\n1,5;x\n");
  assert.deepEqual(await loader.load(dir.join("d.csv")), [{ a: "1,5", b: "x" }]);
});

Deno.test("csv typed columns convert numbers and booleans and round-trip", async () => {
  await using dir = await tempDir();
  const loader = loaders.csv({ columns: { n: "number", ok: "boolean" } });
  await Deno.writeTextFile(dir.join("d.csv"), "name,n,ok\nx,1.5,true\ny,-2,0\nz,3e2,TRUE\n");
  const rows = await loader.load(dir.join("d.csv"));
  assert.deepEqual(rows, [
    { name: "x", n: 1.5, ok: true },
    { name: "y", n: -2, ok: false },
    { name: "z", n: 300, ok: true },
  ]);
  await loader.save(rows, dir.join("out.csv"));
  assert.equal(
    await Deno.readTextFile(dir.join("out.csv")),
    "name,n,ok\nx,1.5,true\ny,-2,false\nz,300,true\n",
  );
  assert.deepEqual(await loader.load(dir.join("out.csv")), rows);
});

Deno.test("csv: a cell that is not a number is an error naming the column and the file", async () => {
  await using dir = await tempDir();
  const path = dir.join("d.csv");
  await Deno.writeTextFile(path, "name,n\nx,1\ny,twelve\n");
  await assert.rejects(
    async () => await loaders.csv({ columns: { n: "number" } }).load(path),
    (error: Error) => {
      assert.ok(error.message.includes(path), error.message);
      assert.match(error.message, /column 'n': expected a number, got 'twelve'/);
      return true;
    },
  );
});

Deno.test("csv: a cell that is not a boolean is an error naming the column", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(dir.join("d.csv"), "ok\nmaybe\n");
  await assert.rejects(
    async () => await loaders.csv({ columns: { ok: "boolean" } }).load(dir.join("d.csv")),
    /column 'ok': expected a boolean, got 'maybe'/,
  );
});

Deno.test("csv: a typed column missing from the header is an error naming it", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(dir.join("d.csv"), "name\nx\n");
  await assert.rejects(
    async () => await loaders.csv({ columns: { n: "number" } }).load(dir.join("d.csv")),
    /column 'n' is missing/,
  );
});

Deno.test("csv of no rows with typed columns writes just the header", async () => {
  await using dir = await tempDir();
  const loader = loaders.csv({ columns: { n: "number", ok: "boolean" } });
  await loader.save([], dir.join("d.csv"));
  assert.equal(await Deno.readTextFile(dir.join("d.csv")), "n,ok\n");
  assert.deepEqual(await loader.load(dir.join("d.csv")), []);
});

Deno.test("pathOnly gives the path and is recognised as path-only", async () => {
  const loader = loaders.pathOnly();
  assert.equal(await loader.load("/some/where.bin"), "/some/where.bin");
  assert.equal(isPathOnly(loader), true);
  assert.equal(isPathOnly(loaders.json()), false);
  assert.deepEqual(loaderSpecOf(loader), { kind: "pathOnly", options: {} });
});

Deno.test("built-in loaders carry their kind and options in LOADER_SPEC", () => {
  assert.deepEqual(loaders.json()[LOADER_SPEC], { kind: "json", options: { indent: 2 } });
  assert.deepEqual(loaders.json({ indent: 4 })[LOADER_SPEC].options, { indent: 4 });
  assert.deepEqual(loaders.csv({ separator: "\t", columns: { n: "number" } })[LOADER_SPEC], {
    kind: "csv",
    options: { separator: "\t", columns: { n: "number" } },
  });
  assert.deepEqual(loaders.csv()[LOADER_SPEC].options, { separator: ",", columns: {} });
  for (const kind of ["yaml", "jsonl", "text", "bytes"] as const) {
    assert.deepEqual(loaderSpecOf(loaders[kind]()), { kind, options: {} });
  }
});

Deno.test("a custom loader has no spec", () => {
  const custom = { load: (path: string) => path, save: () => {} };
  assert.equal(loaderSpecOf(custom), undefined);
  assert.equal(loaderSpecOf(null), undefined);
});

Deno.test("csv: an empty number cell reads as NaN and is written back empty", async () => {
  await using dir = await tempDir();
  const loader = loaders.csv({ columns: { n: "number" } });
  await Deno.writeTextFile(dir.join("in.csv"), "id,n\na,\nb,2\n");
  const rows = await loader.load(dir.join("in.csv"));
  assert.ok(Number.isNaN(rows[0].n));
  await loader.save(rows, dir.join("out.csv"));
  assert.equal(await Deno.readTextFile(dir.join("out.csv")), "id,n\na,\nb,2\n");
  assert.deepEqual(await loader.load(dir.join("out.csv")), rows);
});

Deno.test("csv save writes every column any row has, in order of first appearance", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const loader = loaders.csv();
    await loader.save([{ a: "1" }, { a: "2", b: "x" }], `${dir}/rows.csv`);
    const text = await Deno.readTextFile(`${dir}/rows.csv`);
    if (text !== "a,b\n1,\n2,x\n") throw new Error(`unexpected csv: ${JSON.stringify(text)}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
