/** `isInside` and `projectRelative`: the prefix shortcut answers as `relative()` does. */

import { isInside, type Project, projectRelative } from "../../lib/model/project.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

const project = (root: string) => ({ root }) as Project;

test("a normalised path below the root is inside it, relative by its tail", () => {
  assertEquals(isInside("/p/root", "/p/root/data/a.txt"), true);
  assertEquals(projectRelative(project("/p/root"), "/p/root/data/a.txt"), "data/a.txt");
  assertEquals(projectRelative(project("/p/root"), "/p/root/.hidden/x"), ".hidden/x");
});

test("paths with `..`, `.` or empty segments are resolved, not matched by prefix", () => {
  assertEquals(isInside("/p/root", "/p/root/../other/x"), false);
  assertEquals(projectRelative(project("/p/root"), "/p/root/../other/x"), "../other/x");
  assertEquals(projectRelative(project("/p/root"), "/p/root/./a//b/"), "a/b");
  assertEquals(isInside("/p/./root", "/p/./root/x"), true);
});

test("a sibling sharing the root's prefix is outside; the root is inside itself", () => {
  assertEquals(isInside("/p/root", "/p/rooted/x"), false);
  assertEquals(isInside("/p/root", "/p/root"), true);
  assertEquals(projectRelative(project("/p/root"), "/p/root"), "");
  assertEquals(isInside("/", "/x/y"), true);
  assertEquals(isInside("/p/root/.pivot", "/p/root/data/x"), false);
  assertEquals(isInside("/p/root/.pivot", "/p/root/.pivot/cache/ab"), true);
  assertEquals(isInside("/p/root/data", "/p/root/data/../.pivot/x"), false);
});
