import { projectAt } from "../../lib/model/project.ts";
import { loadYamlPipeline } from "../../lib/pipeline/load_yaml.ts";
import { emptyParamsYaml } from "../../lib/pipeline/params.ts";
import { assertEquals } from "../_assert.ts";
import { tempDir } from "../_project.ts";
import { test } from "../_harness.ts";

const PATHS = [
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
];

/** The loader specs a plain function's deps get in a `pivot.yaml` for `paths`. */
async function depLoaders(paths: readonly string[]) {
  await using dir = await tempDir();
  await Deno.writeTextFile(dir.path("stages.ts"), "export function f() {}\n");
  const deps = paths.map((path, i) => `      d${i}: "${path}"`).join("\n");
  const file = dir.path("pivot.yaml");
  await Deno.writeTextFile(file, `stages:\n  f:\n    run: stages.ts#f\n    deps:\n${deps}\n`);
  const { stages } = await loadYamlPipeline(projectAt(dir.root), file, emptyParamsYaml());
  return stages[0].deps.map((dep) => dep.loader);
}

test("a plain function's loaders follow the file extension", async () => {
  assertEquals((await depLoaders(PATHS)).map((loader) => loader?.kind), [
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

test("extension loaders carry the built-in loaders' default options", async () => {
  assertEquals(await depLoaders(["a.json", "a.csv"]), [
    { kind: "json", options: { indent: 2 } },
    { kind: "csv", options: { separator: ",", columns: {} } },
  ]);
});
