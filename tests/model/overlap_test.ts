/**
 * `OutIndex.overlapping` against a scan with `overlaps()`: its shortcuts (no
 * ancestor walk without directory outs, no descendant search for a path that
 * holds no out) must not lose a match, also as items are added or replaced.
 */

import { type Indexed, OutIndex, overlaps } from "../../lib/model/overlap.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

interface Item extends Indexed {
  readonly id: number;
}

const item = (path: string, id: number): Item => {
  const isDir = path.endsWith("/");
  return { id, out: { path: isDir ? path.slice(0, -1) : path, isDir } };
};

const QUERIES = [
  "a",
  "a/b",
  "a/b/c.txt",
  "a/b/c.txt/d",
  "a/bc",
  "a/b/",
  "b",
  "b/x",
  "..",
  "../x",
  "../x/y",
  "c/d/e/f",
  "c",
  "c/d",
  "",
];

function check(index: OutIndex<Item>, items: Map<string, Item>, label: string): void {
  for (const query of QUERIES) {
    const expected = [...items.values()]
      .filter((it) => overlaps(it.out.path, it.out.isDir, query))
      .map((it) => it.id)
      .sort((x, y) => x - y);
    const found = index.overlapping(query).map((it) => it.id).sort((x, y) => x - y);
    assertEquals(found, expected, `${label}: ${query}`);
    // The shortcut callers take: when false, at most the item exactly at the path overlaps.
    if (!index.mayOverlapOthers(query)) {
      const exact = index.get(query);
      assertEquals(found, exact === undefined ? [] : [exact.id], `${label}: alone ${query}`);
    }
  }
}

test("overlapping finds what a scan of overlaps() finds, as outs are added and replaced", () => {
  const index = new OutIndex<Item>();
  const items = new Map<string, Item>();
  const steps = [
    "a/b/c.txt",
    "a/bc",
    "../x/y",
    "c/d/e/f",
    "b/",
    "a/b/c.txt/", // replaces the file with a directory
    "a/b/c.txt", // and back: no directory out left under that path
    "b", // replaces the directory b/ with a file
    "a/",
  ];
  check(index, items, "empty");
  steps.forEach((path, id) => {
    const added = item(path, id);
    index.add(added);
    items.set(added.out.path, added);
    check(index, items, `after ${path}`);
  });
});

test("without directory outs, a path inside an out file does not match it", () => {
  const index = new OutIndex<Item>();
  index.add(item("data/file.txt", 1));
  assertEquals(index.overlapping("data/file.txt/inner").map((it) => it.id), []);
  assertEquals(index.overlapping("data").map((it) => it.id), [1]);
  index.add(item("data/", 2));
  assertEquals(index.overlapping("data/other").map((it) => it.id), [2]);
});

test("mayOverlapOthers is false only for a path no directory out holds and above no out", () => {
  const index = new OutIndex<Item>();
  index.add(item("a/b/c.txt", 1));
  assertEquals(index.mayOverlapOthers("a/b/c.txt"), false);
  assertEquals(index.mayOverlapOthers("x.txt"), false);
  assertEquals(index.mayOverlapOthers("a/b"), true);
  assertEquals(index.mayOverlapOthers("a"), true);
  index.add(item("d/", 2));
  assertEquals(index.mayOverlapOthers("x.txt"), true);
});
