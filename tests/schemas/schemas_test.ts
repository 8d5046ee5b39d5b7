/**
 * The JSON Schemas (lib/schemas/) against a real validator (ajv, strict
 * mode): every example in the docs, every YAML pipeline the tests use, every
 * YAML file under examples/ and tests/, and the mistakes they must catch.
 */

import { Ajv } from "ajv";
import { join, relative } from "node:path";
import { parse as parseYaml } from "yaml";
import { projectAt } from "../../lib/model/project.ts";
import { parsePivotYaml } from "../../lib/pipeline/pivot_yaml.ts";
import { readProjectConfig } from "../../lib/pipeline/project_config.ts";
import {
  CONFIG_SCHEMA,
  findSchema,
  type JsonSchema,
  PIVOT_YAML_SCHEMA,
  PVT_SCHEMA,
  SCHEMAS,
} from "../../lib/schemas/mod.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";
import { CHECKOUT_MODES } from "../../lib/storage/cache.ts";
import { REPO, tempDir, TempProject } from "../_project.ts";

function validator(schema: JsonSchema): (value: unknown) => string | undefined {
  const validate = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true }).compile(
    schema,
  );
  return (value) =>
    validate(value)
      ? undefined
      : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ");
}

const checkPivotYaml = validator(PIVOT_YAML_SCHEMA);
const checkConfig = validator(CONFIG_SCHEMA);
const checkPvt = validator(PVT_SCHEMA);

function valid(check: (value: unknown) => string | undefined, text: string, where: string): void {
  const problem = check(parseYaml(text));
  assert(problem === undefined, `${where}: ${problem}\n${text}`);
}

function invalid(check: (value: unknown) => string | undefined, text: string): void {
  assert(check(parseYaml(text)) !== undefined, `expected the schema to refuse:\n${text}`);
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory && entry.name !== "node_modules" && entry.name !== ".git") {
      yield* walk(path);
    } else if (entry.isFile) yield path;
  }
}

test("the YAML blocks of the README and docs/ follow their schemas", async () => {
  let checked = 0;
  for (const file of ["README.md", ...(await docs())]) {
    const text = await Deno.readTextFile(join(REPO, file));
    for (const [, block] of text.matchAll(/```yaml\n([\s\S]*?)```/g)) {
      const value = parseYaml(block);
      if (!value || typeof value !== "object") continue;
      const keys = Object.keys(value);
      const check = keys.includes("stages")
        ? checkPivotYaml
        : keys.every((k) => ["cache", "core", "remotes"].includes(k))
        ? checkConfig
        : keys.includes("hash") && keys.includes("path")
        ? checkPvt
        : undefined; // params.yaml and others
      if (!check) continue;
      valid(check, block, file);
      checked++;
    }
  }
  assert(checked >= 3, `only ${checked} YAML examples found`);
});

/**
 * The string literals of a test file that hold a YAML pipeline (a line
 * starting with `stages:`), unescaped; template literals with interpolation
 * are left out.
 */
function* yamlLiterals(source: string): Generator<string> {
  for (const [, template] of source.matchAll(/`((?:[^`\\]|\\.)*)`/g)) {
    if (!/^stages:/m.test(template) || /(^|[^\\])\$\{/.test(template)) continue;
    yield template.replace(/\\(.)/g, (_, c: string) => ({ n: "\n", t: "\t" })[c] ?? c);
  }
  for (const [literal] of source.matchAll(/"(?:[^"\\\n]|\\.)*"/g)) {
    if (!literal.includes("stages:")) continue;
    const text = JSON.parse(literal) as string;
    if (/^stages:/m.test(text)) yield text;
  }
}

async function docs(): Promise<string[]> {
  const files: string[] = [];
  for await (const path of walk(join(REPO, "docs"))) {
    if (path.endsWith(".md")) files.push(relative(REPO, path));
  }
  return files;
}

test("every pivot.yaml the tests use, and the parser accepts, follows the schema", async () => {
  let checked = 0;
  for await (const path of walk(join(REPO, "tests"))) {
    if (!path.endsWith(".ts")) continue;
    const source = await Deno.readTextFile(path);
    for (const text of yamlLiterals(source)) {
      let accepted = false;
      try {
        parsePivotYaml(text, "/project/pivot.yaml");
        accepted = true;
      } catch {
        // refused by the parser: its messages are tested elsewhere
      }
      if (!accepted) continue;
      valid(checkPivotYaml, text, relative(REPO, path));
      checked++;
    }
  }
  assert(checked >= 8, `only ${checked} YAML pipelines found in the tests`);
});

test("every YAML file under examples/ and tests/ follows its schema", async () => {
  let checked = 0;
  for (const dir of ["examples", "tests"]) {
    for await (const path of walk(join(REPO, dir))) {
      const entry = findSchema(path);
      if (!entry || !/(\.ya?ml|\.pvt)$/.test(path)) continue;
      valid(validator(entry.schema), await Deno.readTextFile(path), relative(REPO, path));
      checked++;
    }
  }
  assert(checked >= 1, "no YAML file found (examples/matrix/pivot.yaml?)");
});

test("the pivot.yaml schema refuses what the parser refuses for its shape", () => {
  valid(
    checkPivotYaml,
    `stages:
  train:
    run: stages.ts#train
    deps: { data: "data/\${dataset}.json" }
    outs: { model: "models/\${model}_\${dataset}.json" }
    params: { epochs: 10 }
    matrix:
      model:
        small: { params: { epochs: 5 } }
        large: { params: { epochs: 50 } }
      dataset: [train, test]
`,
    "SPEC §7",
  );
  invalid(checkPivotYaml, "pipeline: p\n");
  invalid(checkPivotYaml, "stages:\n  a:\n    deps: { x: x.csv }\n"); // no run
  invalid(checkPivotYaml, "stages:\n  a:\n    run: stages.ts\n"); // no #export
  invalid(checkPivotYaml, "stages:\n  a:\n    run: s.ts#a\n    parms: {}\n");
  invalid(checkPivotYaml, "stages:\n  a@b:\n    run: s.ts#a\n");
  invalid(checkPivotYaml, "stages:\n  a:\n    run: s.ts#a\n    deps: { x: 1 }\n");
  invalid(checkPivotYaml, "stages:\n  a:\n    run: s.ts#a\n    mutex: gpu\n");
  invalid(checkPivotYaml, "stages:\n  a:\n    run: s.ts#a\n    matrix: { m: [] }\n");
  invalid(checkPivotYaml, "stages:\n  a:\n    run: s.ts#a\n    matrix: { m: { v: { run: x } } }\n");
  // Each refused document is refused by the parser too.
  for (
    const text of [
      "stages:\n  a:\n    run: s.ts#a\n    parms: {}\n",
      "stages:\n  a@b:\n    run: s.ts#a\n",
      "stages:\n  a:\n    run: s.ts#a\n    mutex: gpu\n",
    ]
  ) {
    let refused = false;
    try {
      parsePivotYaml(text, "/project/pivot.yaml");
    } catch {
      refused = true;
    }
    assert(refused, `the parser accepts what the schema refuses:\n${text}`);
  }
});

test("the pivot.yaml schema takes command stages as DVC writes them, and refuses what the parser refuses", async () => {
  const fixture = await Deno.readTextFile(join(REPO, "tests/fixtures/dvc_project/dvc.yaml"));
  valid(checkPivotYaml, fixture, "tests/fixtures/dvc_project/dvc.yaml");
  valid(
    checkPivotYaml,
    `vars:
  - config.yaml:model
  - batch: 32
stages:
  train:
    matrix:
      model: [cnn, xgb]
      lr: \${rates}
    cmd:
      - python train.py \${item.model}
      - echo done
    wdir: src
    deps: [data/]
    params: [train.lr, { other.yaml: [a] }, { whole.json: null }]
    outs: [model.pkl, { logs: { cache: false, persist: true } }]
    metrics: [{ scores.json: { cache: false } }]
    plots: [{ roc.csv: { x: fpr, y: tpr, template: simple } }]
    frozen: false
    always_changed: true
    desc: Train
    meta: { owner: ml }
    mutex: [gpu]
`,
    "a command stage with every field",
  );
  invalid(checkPivotYaml, "stages:\n  a:\n    cmd: x\n    run: s.ts#a\n");
  invalid(checkPivotYaml, "stages:\n  a:\n    cmd: x\n    outs: [{ m: { remote: s3 } }]\n");
  invalid(checkPivotYaml, "stages:\n  a:\n    foreach: [x]\n");
  invalid(
    checkPivotYaml,
    "stages:\n  a:\n    cmd: x\n    plots: [{ p.csv: { template: fancy } }]\n",
  );
  for (
    const text of [
      "stages:\n  a:\n    cmd: x\n    run: s.ts#a\n",
      "stages:\n  a:\n    cmd: x\n    outs: [{ m: { remote: s3 } }]\n",
      "stages:\n  a:\n    foreach: [x]\n",
    ]
  ) {
    let refused = false;
    try {
      parsePivotYaml(text, "/project/pivot.yaml");
    } catch {
      refused = true;
    }
    assert(refused, `the parser accepts what the schema refuses:\n${text}`);
  }
});

test("the config schema takes SPEC §5's keys and nothing else", () => {
  valid(
    checkConfig,
    `cache: { dir: .pivot/cache, type: reflink }
core: { jobs: 4, remote: origin, check: true, history: 100 }
remotes:
  origin: { url: "s3://bucket/team/pivot", endpoint: "http://127.0.0.1:9000",
            region: us-east-1, profile: default, jobs: 16 }
  share:  { url: "/mnt/nfs/pivot-cache" }
`,
    "SPEC §5",
  );
  valid(checkConfig, "# only comments\n", "an empty file");
  invalid(checkConfig, "cache: { type: reflinks }\n");
  invalid(checkConfig, "core: { jobs: 0 }\n");
  invalid(checkConfig, "core: { jobs: '4' }\n");
  invalid(checkConfig, "core: { jbos: 4 }\n");
  invalid(checkConfig, "core: { history: -1 }\n");
  invalid(checkConfig, "remotes: { origin: { url: s3://b, endpoint: 127.0.0.1:9000 } }\n");
  invalid(checkConfig, "remotes: { origin: { uri: s3://b } }\n");
  invalid(checkConfig, "colour: true\n");
});

test("the config schema and pivot's own validator accept and refuse the same files", async () => {
  // What an editor flags must be what pivot refuses, and the other way round.
  // Left out on purpose: what one file cannot show (a remote whose url is in
  // the other file, core.remote naming a remote, cache.dir that is a file).
  const cases = [
    "",
    "# only comments\n",
    "cache:\ncore:\nremotes:\n",
    "cache: { dir: .pivot/cache }\n",
    "cache: { dir: ../shared-cache }\n",
    "cache: { dir: /var/cache/pivot }\n",
    ...CHECKOUT_MODES.map((mode) => `cache: { type: ${mode} }\n`),
    "core: { jobs: 4, check: true }\n",
    "core: { jobs: 2.0 }\n",
    "core: { remote: team.s3, check: false }\nremotes: { team.s3: { url: s3://bucket } }\n",
    "remotes: { origin: { url: s3://bucket/team, endpoint: http://127.0.0.1:9000 } }\n",
    "remotes: { origin: { url: S3://bucket, endpoint: https://s3.example.com/x } }\n",
    "remotes: { a_b-c.d: { url: /mnt/nfs/cache, jobs: 8 } }\n",
    "remotes: { rel: { url: ../remote-dir }, f: { url: file:///srv/cache } }\n",
    "remotes:\n  origin:\n    url: s3://team-bucket.eu\n    region: eu-west-1\n    profile: team\n" +
    "    access_key_id: AK\n    secret_access_key: SK\n    session_token: ST\n",
    // refused
    "- cache\n",
    "just text\n",
    "colour: true\n",
    "cahce: { type: copy }\n",
    "cache: { tpye: copy }\n",
    "cache: { type: reflnk }\n",
    "cache: { dir: '' }\n",
    "cache: { dir: 3 }\n",
    "cache: [a, b]\n",
    "core: { jobs: 0 }\n",
    "core: { jobs: -2 }\n",
    "core: { jobs: 1.5 }\n",
    "core: { jobs: '4' }\n",
    "core: { check: yes }\n",
    "core: { remote: '' }\n",
    "core: 4\n",
    "remotes: [origin]\n",
    "remotes: { origin: s3://bucket }\n",
    "remotes: { origin: }\n",
    "remotes: { 'my remote': { url: /x } }\n",
    "remotes: { 'a/b': { url: /x } }\n",
    "remotes: { origin: { url: '' } }\n",
    "remotes: { origin: { url: 42 } }\n",
    "remotes: { origin: { url: ftp://host/dir } }\n",
    "remotes: { origin: { url: gs://bucket } }\n",
    "remotes: { origin: { url: s3://b } }\n",
    "remotes: { origin: { url: s3://Team_Bucket/x } }\n",
    "remotes: { origin: { url: 's3://' } }\n",
    "remotes: { origin: { uri: s3://b } }\n",
    "remotes: { origin: { url: s3://b, endpoint: 127.0.0.1:9000 } }\n",
    "remotes: { origin: { url: s3://b, endpoint: 'http://' } }\n",
    "remotes: { origin: { url: s3://b, jobs: 0 } }\n",
    "remotes: { origin: { url: s3://b, region: '' } }\n",
    "remotes: { origin: { url: s3://b, secret_access_key: 12 } }\n",
  ];
  await using dir = await tempDir();
  const project = projectAt(dir.root);
  let refused = 0;
  for (const text of cases) {
    await dir.write(".pivot/config.yaml", text);
    let problem: string | undefined;
    try {
      await readProjectConfig(project);
    } catch (error) {
      problem = (error as Error).message;
    }
    const schemaProblem = checkConfig(parseYaml(text) ?? null);
    assertEquals(
      schemaProblem === undefined,
      problem === undefined,
      `schema: ${schemaProblem ?? "accepts"}; pivot: ${problem ?? "accepts"}\n${text}`,
    );
    if (problem !== undefined) refused++;
  }
  assert(refused >= 20 && refused < cases.length, `${refused} of ${cases.length} refused`);
  // Every mode pivot takes is one the schema offers (reflink comes with issue 10's item 2).
  const modes = (((CONFIG_SCHEMA.properties as Record<string, JsonSchema>).cache
    .properties as Record<string, JsonSchema>).type.enum) as string[];
  for (const mode of CHECKOUT_MODES) assert(modes.includes(mode), `the schema lacks ${mode}`);
});

test("the .pvt schema takes SPEC §9's keys", () => {
  valid(checkPvt, "path: data.csv\nhash: 0123456789abcdef\nsize: 12\n", "a file");
  valid(checkPvt, "path: images\nhash: 0123456789abcdef\nsize: 4096\nfiles: 3\n", "a directory");
  invalid(checkPvt, "path: data.csv\nhash: 0123\nsize: 12\n");
  invalid(checkPvt, "path: data.csv\nsize: 12\n");
  invalid(checkPvt, "path: data.csv\nhash: 0123456789abcdef\nsize: -1\n");
  invalid(checkPvt, "path: data.csv\nhash: 0123456789abcdef\nsize: 1\nmd5: x\n");
});

test("pivot schema prints each schema; init writes the schema line into config.yaml", async () => {
  const project = await TempProject.create({
    "pipeline.ts":
      `import { Pipeline } from "jsr:@pivot/core";\nexport const pipeline = new Pipeline("p");\n`,
  });
  try {
    for (const entry of SCHEMAS) {
      const printed = await project.pivot("schema", entry.name);
      assertEquals(printed.code, 0, printed.stderr);
      assertEquals(JSON.parse(printed.stdout), entry.schema);
      // The URL editors fetch names a file of the published package.
      const url = (await project.pivot("schema", entry.name, "--url")).stdout.trim();
      assertMatch(
        url,
        new RegExp(`^https://jsr\\.io/@pivot/core/[^/]+/lib/schemas/${entry.file}$`),
      );
      assertEquals(
        JSON.parse(await Deno.readTextFile(join(REPO, "lib/schemas", entry.file))),
        entry.schema,
      );
    }
    assertEquals(JSON.parse((await project.pivot("schema", "config.yaml")).stdout), CONFIG_SCHEMA);
    const unknown = await project.pivot("schema", "dvc");
    assertEquals(unknown.code, 2);
    assertMatch(unknown.stderr, /unknown schema 'dvc': use one of pivot-yaml, config, pvt/);

    const config = await project.read(".pivot/config.yaml");
    const url = (await project.pivot("schema", "config", "--url")).stdout.trim();
    assertEquals(config.split("\n")[0], `# yaml-language-server: $schema=${url}`);
    valid(checkConfig, config, "the config.yaml init writes");
    assertEquals((await project.pivot("status")).code, 0); // and Pivot reads it
  } finally {
    await project.dispose();
  }
});
