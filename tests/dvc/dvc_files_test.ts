import { parseDvcConfig, parseDvcFile, parseDvcLock } from "../../lib/dvc/dvc_files.ts";
import { assertEquals, assertPivotError } from "../_assert.ts";
import { test } from "../_harness.ts";

test("a DVC 3 lock file is read with its hashes, sizes and params", async () => {
  const lock = await parseDvcLock(
    `schema: '2.0'
stages:
  prepare:
    cmd: python src/prepare.py data/data.xml
    deps:
    - path: data/data.xml
      hash: md5
      md5: 22a1a2931c8370d3aeedd7183606fd7f
      size: 14445097
    params:
      params.yaml:
        prepare.seed: 20170428
        prepare.split: 0.2
    outs:
    - path: data/prepared
      hash: md5
      md5: 153aad06d376b6595932470e459ef42a.dir
      size: 8437363
      nfiles: 2
`,
    "dvc.lock",
  );
  assertEquals(lock.prepare.deps, [{
    path: "data/data.xml",
    md5: "22a1a2931c8370d3aeedd7183606fd7f",
    plainMd5: true,
    size: 14445097,
    nfiles: undefined,
  }]);
  assertEquals(lock.prepare.params, {
    "params.yaml": { "prepare.seed": 20170428, "prepare.split": 0.2 },
  });
  assertEquals(lock.prepare.outs[0].nfiles, 2);
});

test("DVC 2 entries (no hash: md5) and DVC 1 lock files (no schema) are read", async () => {
  const lock = await parseDvcLock(
    `train:
  cmd: [python a.py, python b.py]
  outs:
  - path: model.pkl
    md5: 484fab565aec49c5f704a3783235d237
    size: 2206748
`,
    "dvc.lock",
  );
  assertEquals(lock.train.cmd, ["python a.py", "python b.py"]);
  assertEquals(lock.train.outs[0].plainMd5, false);
  assertEquals(
    await assertPivotError(() => parseDvcLock("schema: '3.0'\nstages: {}\n", "dvc.lock")),
    "dvc.lock: unknown lock schema '3.0' (Pivot reads 2.0)",
  );
});

test("a .dvc file gives its outs and, for an import, where the data came from", async () => {
  const added = await parseDvcFile(
    "outs:\n- md5: a304afb96060aad90176268345e10355\n  size: 37891850\n  hash: md5\n  path: data.xml\n",
    "data.xml.dvc",
  );
  assertEquals(added.outs[0].path, "data.xml");
  assertEquals(added.source, undefined);
  const imported = await parseDvcFile(
    `md5: f5ea021eddd7b1df6de80b904cba1da6
frozen: true
deps:
- path: get-started/data.xml
  repo:
    url: https://github.com/iterative/dataset-registry
outs:
- md5: 22a1a2931c8370d3aeedd7183606fd7f
  size: 14445097
  hash: md5
  path: data.xml
`,
    "data.xml.dvc",
  );
  assertEquals(
    imported.source,
    "https://github.com/iterative/dataset-registry (get-started/data.xml)",
  );
});

test(".dvc/config gives remotes, the default one, and the cache directory", () => {
  const config = parseDvcConfig(`[core]
    remote = storage
['remote "storage"']
    url = s3://bucket/path
    endpointurl = http://127.0.0.1:9000
['remote "backup"']
    url = /mnt/backup
[cache]
    dir = ../../shared-cache
`);
  assertEquals(config.remotes, [
    {
      name: "storage",
      url: "s3://bucket/path",
      settings: { endpointurl: "http://127.0.0.1:9000" },
      isDefault: true,
    },
    { name: "backup", url: "/mnt/backup", settings: {}, isDefault: false },
  ]);
  assertEquals(config.cacheDir, "../../shared-cache");
});
