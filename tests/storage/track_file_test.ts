import { Ajv } from "ajv";
import { parse } from "yaml";
import { PivotError } from "../../lib/errors.ts";
import { PVT_SCHEMA } from "../../lib/schemas/mod.ts";
import { isTracked, parseTrackFile, trackFileText } from "../../lib/storage/track_file.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { test } from "../_harness.ts";
import { tempDir } from "../_project.ts";

const schema = new Ajv({ strict: true, allErrors: true }).compile(PVT_SCHEMA);

const SAMPLES = [
  "path: data.csv\nhash: 0123456789abcdef\nsize: 12\n",
  "path: images\nhash: 0123456789abcdef\nsize: 4096\nfiles: 3\n",
  "path: data.csv\nhash: 0123\nsize: 12\n",
  "path: data.csv\nsize: 12\n",
  "path: data.csv\nhash: 0123456789abcdef\nsize: -1\n",
  "path: data.csv\nhash: 0123456789abcdef\nsize: 1\nmd5: x\n",
  "path: data.csv\nhash: 0123456789abcdef\nsize: 1.5\n",
  "path: ''\nhash: 0123456789abcdef\nsize: 1\n",
  "path: data.csv\nhash: 0123456789ABCDEF\nsize: 1\n",
  "path: images\nhash: 0123456789abcdef\nsize: 1\nfiles: two\n",
  "- a list\n",
  "",
];

test("the .pvt reader accepts exactly what the JSON Schema accepts", async () => {
  for (const text of SAMPLES) {
    const bySchema = schema(parse(text));
    let byReader = true;
    try {
      await parseTrackFile(text, "/p/data.csv.pvt", "/p", "data.csv.pvt");
    } catch (error) {
      assert(error instanceof PivotError, String(error));
      assert(!error.message.includes("\n"), "one line");
      byReader = false;
    }
    assertEquals(byReader, bySchema, `schema ${bySchema}, reader ${byReader}:\n${text}`);
  }
});

test("a .pvt file as written follows the schema and reads back", async () => {
  for (
    const record of [
      { path: "raw.csv", hash: "0123456789abcdef", size: 10 },
      { path: "images", hash: "1234567890123456", size: 0, files: 0 },
    ]
  ) {
    const text = await trackFileText(record);
    assert(schema(parse(text)), text);
    const read = await parseTrackFile(text, `/p/d/${record.path}.pvt`, "/p", "x.pvt");
    assertEquals(
      [read.path, read.hash, read.size, read.files],
      [`d/${record.path}`, record.hash, record.size, record.files],
    );
  }
});

test("a .pvt path may not leave the project", async () => {
  await assertRejects(
    () =>
      parseTrackFile(
        "path: ../../x\nhash: 0123456789abcdef\nsize: 1\n",
        "/p/d/x.pvt",
        "/p",
        "x.pvt",
      ),
    PivotError,
    /inside the project/,
  );
});

test("data inside a tracked directory counts as tracked", async () => {
  await using dir = await tempDir();
  await dir.write("data/images.pvt", "path: images\nhash: 0123456789abcdef\nsize: 1\nfiles: 1\n");
  assert(isTracked(dir.path("data/images/a/b.png"), dir.root));
  assert(isTracked(dir.path("data/images"), dir.root));
  assert(!isTracked(dir.path("data/other.csv"), dir.root));
});
