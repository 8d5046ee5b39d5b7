import { loaderForPath } from "../../lib/pipeline/load_yaml.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

test("a plain function's loaders follow the file extension", () => {
  const kinds = [
    "a.json",
    "a.yaml",
    "a.YML",
    "data/a.csv",
    "a.jsonl",
    "notes.txt",
    "model.bin",
    "README",
    "images/",
    "archive.tar.gz",
  ].map((path) => loaderForPath(path).kind);
  assertEquals(kinds, [
    "json",
    "yaml",
    "yaml",
    "csv",
    "jsonl",
    "text",
    "pathOnly",
    "pathOnly",
    "pathOnly",
    "pathOnly",
  ]);
});

test("extension loaders carry the built-in loaders' default options", () => {
  assertEquals(loaderForPath("a.json"), { kind: "json", options: { indent: 2 } });
  assertEquals(loaderForPath("a.csv"), { kind: "csv", options: { separator: ",", columns: {} } });
});
