import { dvcHash, fileMd5, pythonJsonString } from "../../lib/dvc/md5.ts";
import { assertEquals } from "../_assert.ts";
import { beforeAll, output, test } from "../_harness.ts";
import { tempDir } from "../_project.ts";
import { ensurePython, PYTHON } from "../e2e/_dvc.ts";

/**
 * dvc-data's hashes, computed by Python as dvc-data computes them
 * (hashfile/hash.py for files, hashfile/tree.py's Tree.as_bytes and digest
 * for directories), for `path` in the current directory.
 */
const DVC_DATA = `
import hashlib, json, os, sys

def md5(path, legacy):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(2**20)
            if not chunk:
                break
            if legacy:
                block = chunk[:512]
                text = not block or (b"\\x00" not in block and len(block.translate(None, bytes(range(32, 127)) + b"\\n\\r\\t\\f\\b")) / len(block) <= 0.3)
                if text:
                    chunk = chunk.replace(b"\\r\\n", b"\\n")
            digest.update(chunk)
    return digest.hexdigest()

path, legacy = sys.argv[1], sys.argv[2] == "legacy"
if os.path.isdir(path):
    files = []
    for root, _, names in os.walk(path):
        for name in names:
            full = os.path.join(root, name)
            files.append({"md5": md5(full, legacy), "relpath": os.path.relpath(full, path)})
    files.sort(key=lambda item: item["relpath"])
    print(hashlib.md5(json.dumps(files, sort_keys=True).encode("utf-8")).hexdigest() + ".dir")
else:
    print(md5(path, legacy))
`;

// A fresh machine's installation of pandas and scikit-learn, outside any test's time limit.
beforeAll(ensurePython);

async function pythonHash(cwd: string, path: string, legacy: boolean): Promise<string> {
  await ensurePython();
  const result = await output(PYTHON, {
    args: ["-c", DVC_DATA, path, legacy ? "legacy" : "md5"],
    cwd,
  });
  return new TextDecoder().decode(result.stdout).trim();
}

test("file and directory hashes match dvc-data's, DVC 3 and DVC 2 (dos2unix) alike", async () => {
  await using dir = await tempDir();
  await dir.write("data/a.txt", "one\r\ntwo\r\n");
  await dir.write("data/sub/café.csv", "x,y\n1,2\n");
  await dir.write("data/z-last", "");
  await Deno.writeFile(dir.path("data/bin.dat"), new Uint8Array([0, 1, 13, 10, 255]));
  await Deno.writeFile(
    dir.path("data/big.txt"),
    new TextEncoder().encode("ab\r\n".repeat(400_000)),
  );
  for (const legacy of [false, true]) {
    for (const path of ["data", "data/a.txt", "data/bin.dat", "data/big.txt"]) {
      const ours = await dvcHash(dir.path(path), { legacy });
      assertEquals(ours?.md5, await pythonHash(dir.root, path, legacy), `${path} legacy=${legacy}`);
    }
  }
  const data = await dvcHash(dir.path("data"));
  assertEquals([data?.nfiles, data?.size], [5, 1_600_000 + 10 + 8 + 5]);
});

test("md5-dos2unix treats CRLF as LF in text only", async () => {
  await using dir = await tempDir();
  await dir.write("text", "a\r\nb\r\n");
  await dir.write("plain", "a\nb\n");
  assertEquals(await fileMd5(dir.path("text"), true), await fileMd5(dir.path("plain")));
  assertEquals(await fileMd5(dir.path("text"), false) === await fileMd5(dir.path("plain")), false);
});

test("a missing path has no hash; .dvcignore'd files are left out of a directory", async () => {
  await using dir = await tempDir();
  assertEquals(await dvcHash(dir.path("nothing")), undefined);
  await dir.write("d/keep.txt", "k");
  await dir.write("d/skip.log", "s");
  const ignored = (path: string) => path.endsWith(".log");
  const hashed = await dvcHash(dir.path("d"), { ignored, rel: "d" });
  await Deno.remove(dir.path("d/skip.log"));
  assertEquals(hashed?.md5, (await dvcHash(dir.path("d")))?.md5);
});

test("pythonJsonString writes strings as Python's json.dumps", () => {
  assertEquals(
    pythonJsonString('café/a"b\\c\n\u007f😀'),
    '"caf\\u00e9/a\\"b\\\\c\\n\\u007f\\ud83d\\ude00"',
  );
});
