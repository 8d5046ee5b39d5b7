/**
 * The value a stage returns for a `loaders.files()` out: checked (every path
 * stays inside the directory) and packed into one shared buffer.
 */

import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { test } from "../_harness.ts";
import {
  checkFilePaths,
  contentOf,
  type ReturnedFiles,
  returnedFiles,
} from "../../lib/model/returned_files.ts";

const text = (files: ReturnedFiles, i: number) => new TextDecoder().decode(contentOf(files, i));

test("returnedFiles sorts the paths as a manifest does and packs every content, strings as UTF-8", () => {
  const bytes = new Uint8Array([0, 255, 7]);
  const files = returnedFiles({ "b.txt": "bee\n", "a-b": "", "a/c.txt": "naïve ✓", "a/z": bytes });
  // UTF-16 code unit order: "-" (0x2d) before "/" (0x2f) before letters.
  assertEquals(files.paths, ["a-b", "a/c.txt", "a/z", "b.txt"]);
  assertEquals(text(files, 0), "");
  assertEquals(text(files, 1), "naïve ✓");
  assertEquals(contentOf(files, 2), bytes);
  assertEquals(text(files, 3), "bee\n");
  assertEquals([...files.ends], [0, 10, 13, 17]);
  assert(files.data.buffer instanceof SharedArrayBuffer, "posted without a copy");
  assertEquals(files.data.length, 17);
});

test("returnedFiles copies a view into a larger buffer, and grows past its first buffer", () => {
  const whole = new Uint8Array(200_000).map((_, i) => i % 251);
  const part = whole.subarray(1000, 101_000);
  const files = returnedFiles({ "big.bin": part, "long.txt": "é".repeat(50_000) });
  assertEquals(contentOf(files, 0), part);
  assertEquals(text(files, 1), "é".repeat(50_000));
  assertEquals(files.data.length, 100_000 + 100_000);
  assertEquals(returnedFiles({}).paths, []);
});

test("returnedFiles refuses a value that is not an object of contents, naming what it got", () => {
  const refused: [unknown, RegExp][] = [
    [null, /got null: return \{/],
    ["text", /got a string/],
    [[["a", "b"]], /got an array/],
    [new Map([["a", "b"]]), /got a Map \(use a plain object, Object\.fromEntries\(map\)\)/],
    [new Uint8Array(2), /got a Uint8Array/],
    [
      { "a.txt": 5 },
      /file 'a\.txt': content is a number: give a string \(written as UTF-8\) or a Uint8Array/,
    ],
    [{ "a.txt": undefined }, /file 'a\.txt': content is undefined/],
    [{ "a.txt": [1, 2] }, /file 'a\.txt': content is an array/],
    [{ "a.txt": new Uint16Array(2) }, /content is a Uint16Array/],
  ];
  for (const [value, message] of refused) {
    try {
      returnedFiles(value);
      throw new Error(`accepted ${String(value)}`);
    } catch (error) {
      assert(message.test((error as Error).message), `${(error as Error).message} ~ ${message}`);
    }
  }
});

test("checkFilePaths keeps every path inside the directory, naming the first wrong one", () => {
  const refused: [string[], RegExp][] = [
    [["../x"], /file '\.\.\/x' leads out of the directory through '\.\.'/],
    [["a/../../x"], /leads out of the directory/],
    [["a/.."], /leads out of the directory/],
    [
      ["/etc/passwd"],
      /file '\/etc\/passwd' is an absolute path: name it relative to the directory/,
    ],
    [[""], /a file has an empty name/],
    [["a//b"], /file 'a\/\/b' has an empty or '\.' segment/],
    [["a/"], /has an empty or '\.' segment/],
    [["./a"], /has an empty or '\.' segment/],
    [["a\0b"], /has a NUL character in its name/],
    [["a", "a/b"], /'a' is given as a file and as the directory of 'a\/b': a path cannot be both/],
    [["a", "a-b", "a/b/c"], /'a' is given as a file and as the directory of 'a\/b\/c'/],
    [["b", "a"], /files are not sorted \('b' before 'a'\)/],
    [["a", "a"], /file 'a' is given twice/],
  ];
  for (const [paths, message] of refused) {
    try {
      checkFilePaths(paths);
      throw new Error(`accepted ${JSON.stringify(paths)}`);
    } catch (error) {
      assert(message.test((error as Error).message), `${(error as Error).message} ~ ${message}`);
    }
  }
  // Names that only look odd are plain names.
  checkFilePaths(["...", "..a", "a b/ c", "a-b", "a.b/c", "a/b", "é/ü.txt"]);
  assertThrows(() => checkFilePaths([5 as unknown as string]), Error, /a file name is a number/);
});

test("a returned value with a wrong path is refused before anything is packed", () => {
  assertThrows(
    () => returnedFiles({ "ok.txt": "fine", "../../escape.txt": "no" }),
    Error,
    /file '\.\.\/\.\.\/escape\.txt' leads out of the directory/,
  );
});
