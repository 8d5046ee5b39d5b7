/**
 * `.pivot/config.yaml` and `.pivot/config.local.yaml` are validated at the
 * trust boundary (issue 10, item 18; SPEC §5; docs/config.md): a mistake is
 * one line naming the file, the line, the key and what is expected, exit 2,
 * before anything runs.
 */

import { TempProject } from "../_project.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";

const PIPELINE = `import { loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("p");
pipeline.stage({
  name: "train",
  outs: { model: out("model.json", loaders.json()) },
  run: () => ({ model: { w: 1 } }),
});
`;

/** A config error: exit 2, one line, and nothing ran. */
async function assertConfigError(p: TempProject, pattern: RegExp): Promise<void> {
  const result = await p.pivot("repro");
  assertEquals(result.code, 2, result.stderr);
  const lines = result.stderr.trim().split("\n");
  assertEquals(lines.length, 1, `expected one line, got:\n${result.stderr}`);
  assertMatch(lines[0], pattern);
  assert(!(await p.exists("model.json")), "nothing ran");
}

test("each kind of config mistake is one line naming the file, the line, the key and what is expected", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PIPELINE });
  const cases: [string, RegExp][] = [
    [
      "cache:\n  tpye: copy\n",
      /^error: \.pivot\/config\.yaml:2: cache\.tpye is not a setting: did you mean cache\.type\?/,
    ],
    [
      "cahce:\n  type: copy\n",
      /^error: \.pivot\/config\.yaml:1: cahce is not a setting: did you mean cache\?/,
    ],
    [
      "core:\n  jobs: four\n",
      /^error: \.pivot\/config\.yaml:2: core\.jobs must be a positive integer, got a string \("four"\)$/,
    ],
    [
      "core:\n  jobs: 0\n",
      /^error: \.pivot\/config\.yaml:2: core\.jobs must be a positive integer, got a number \(0\)$/,
    ],
    [
      "cache:\n  type: reflnk\n",
      /^error: \.pivot\/config\.yaml:2: cache\.type must be one of .*copy.*, got a string \("reflnk"\)$/,
    ],
    [
      "core:\n  check: yes\n",
      /^error: \.pivot\/config\.yaml:2: core\.check must be true or false, got a string \("yes"\)$/,
    ],
    ["cache: [a, b]\n", /^error: \.pivot\/config\.yaml:1: cache must be a mapping .*got a list$/],
    ["- cache\n", /^error: \.pivot\/config\.yaml:1: expected a mapping of settings .*got a list$/],
    ["core: {jobs: 2\n", /^error: \.pivot\/config\.yaml:\d+: invalid YAML: /],
    [
      "core:\n  remote: origin\n",
      /^error: \.pivot\/config\.yaml:2: core\.remote is 'origin', which is not a remote \(no remotes are configured\)$/,
    ],
    [
      "remotes:\n  origin:\n    region: eu-west-1\n",
      /^error: \.pivot\/config\.yaml:2: remotes\.origin has no url/,
    ],
    [
      "remotes:\n  origin:\n    url: s3://bucket/p\n    jbos: 8\n",
      /^error: \.pivot\/config\.yaml:4: remotes\.origin\.jbos is not a setting: did you mean remotes\.origin\.jobs\?/,
    ],
    [
      "remotes:\n  origin:\n    url: s3://bucket/p\n    endpoint: localhost:9000\n",
      /^error: \.pivot\/config\.yaml:4: remotes\.origin\.endpoint must be an http:\/\/ or https:\/\/ URL/,
    ],
    [
      "remotes:\n  origin:\n    url: ftp://host/p\n",
      /^error: \.pivot\/config\.yaml:3: remotes\.origin\.url: unsupported URL scheme 'ftp:\/\/'/,
    ],
    [
      "cache:\n  dir: pipeline.ts\n",
      /^error: \.pivot\/config\.yaml:2: cache\.dir is .*\/pipeline\.ts, which is a file: expected a directory/,
    ],
  ];
  for (const [text, pattern] of cases) {
    await p.write(".pivot/config.yaml", text);
    await assertConfigError(p, pattern);
  }
});

test("config.local.yaml is validated too, and wins over config.yaml key by key", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PIPELINE });
  await p.write(
    ".pivot/config.yaml",
    "core:\n  jobs: 2\nremotes:\n  origin:\n    url: s3://bucket/team\n",
  );
  await p.write(".pivot/config.local.yaml", "remotes:\n  origin:\n    secret_access_key: 7\n");
  await assertConfigError(
    p,
    /^error: \.pivot\/config\.local\.yaml:3: remotes\.origin\.secret_access_key must be a non-empty string, got a number \(7\)$/,
  );
  // The local file completes the tracked file's remote and sets core.remote.
  await p.write(
    ".pivot/config.local.yaml",
    "core:\n  remote: origin\nremotes:\n  origin:\n    secret_access_key: s3cr3t\n",
  );
  const ok = await p.pivot("repro");
  assertEquals([ok.code, ok.stderr], [0, ""]);
  const gitignore = await p.read(".pivot/.gitignore");
  assertMatch(gitignore, /^\/config\.local\.yaml$/m);
});

test("a credential in the tracked config.yaml is accepted with a warning to move it", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PIPELINE });
  await p.write(
    ".pivot/config.yaml",
    "remotes:\n  origin:\n    url: s3://bucket/team\n    secret_access_key: s3cr3t\n",
  );
  const result = await p.pivot("status");
  assertEquals(result.code, 0, result.stderr);
  assertMatch(
    result.stderr,
    /^warning: \.pivot\/config\.yaml:2: remotes\.origin\.secret_access_key is a credential in a file tracked by git: move it to \.pivot\/config\.local\.yaml$/m,
  );
});

test("valid settings take effect: core.jobs and a project-relative cache.dir", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PIPELINE });
  await p.write(
    ".pivot/config.yaml",
    "cache:\n  dir: shared-cache\n  type: copy\ncore:\n  jobs: 1\n",
  );
  const result = await p.pivot("repro");
  assertEquals(result.code, 0, result.stderr);
  assert(await p.exists("shared-cache/files"), "objects go to the configured cache");
  // An edit to the config is seen at once (the parsed file is cached by its stamp).
  await Deno.remove(p.path("model.json"));
  await p.write(".pivot/config.yaml", "cache:\n  dir: shared-cache\n  type: cpoy\n");
  await assertConfigError(p, /cache\.type must be one of/);
});
