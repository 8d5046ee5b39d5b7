/**
 * lib/posix_path.ts returns what `node:path` (POSIX) returns, on paths made
 * of the pieces that make paths tricky: empty segments, `.`, `..`, dots in
 * names, leading and trailing and repeated slashes.
 */

import { assertEquals } from "./_assert.ts";
import { test } from "./_harness.ts";
import * as node from "node:path";
import * as posix from "../lib/posix_path.ts";

const PIECES = [
  "",
  "/",
  "//",
  "a",
  "b.txt",
  ".",
  "..",
  "...",
  ".hidden",
  "c.",
  "a.b.c",
  "x/",
  "/y",
];

/** Every path of up to three pieces, plus fixed cases. */
function paths(): string[] {
  const out = new Set<string>(["", "/", "//", "///a//b//", "/a/./b/../../..", "../../a", "a/.."]);
  for (const a of PIECES) {
    out.add(a);
    for (const b of PIECES) {
      out.add(a + b);
      out.add(`${a}/${b}`);
      for (const c of PIECES) out.add(`${a}/${b}${c}`);
    }
  }
  return [...out];
}

test("posix_path: one-path functions match node:path", () => {
  for (const path of paths()) {
    for (const name of ["normalize", "isAbsolute", "dirname", "basename", "extname"] as const) {
      assertEquals(posix[name](path), node.posix[name](path), `${name}(${JSON.stringify(path)})`);
    }
    assertEquals(posix.resolve(path), node.posix.resolve(path), `resolve(${JSON.stringify(path)})`);
  }
});

test("posix_path: two-path functions match node:path", () => {
  const all = paths().filter((_, i) => i % 20 === 0);
  for (const a of all) {
    for (const b of all) {
      const args = `(${JSON.stringify(a)}, ${JSON.stringify(b)})`;
      assertEquals(posix.join(a, b), node.posix.join(a, b), `join${args}`);
      assertEquals(posix.resolve(a, b), node.posix.resolve(a, b), `resolve${args}`);
      assertEquals(posix.relative(a, b), node.posix.relative(a, b), `relative${args}`);
    }
  }
  assertEquals(posix.join(), node.posix.join());
  assertEquals(posix.resolve(), node.posix.resolve());
  assertEquals(posix.join("a", "", "b", "/", "c"), node.posix.join("a", "", "b", "/", "c"));
  assertEquals(posix.sep, node.posix.sep);
});
