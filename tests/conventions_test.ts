/**
 * The test conventions of docs/testing.md, checked: tests register with
 * `test()` (a time limit), assert with `_assert.ts`, start processes through
 * `_harness.ts` (so a timed-out test kills them) and make temporary directories
 * through `_project.ts` (so they are removed). A line that must break a rule
 * (say, a pipeline written by a test that itself starts a process) says so
 * with a `test-conventions: allow` comment, on that line or the one before.
 */

import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { assertEquals } from "./_assert.ts";
import { test } from "./_harness.ts";

const TESTS = fileURLToPath(new URL(".", import.meta.url));

/** A pattern no test file may contain, except the helper module that owns it. */
interface Rule {
  readonly pattern: RegExp;
  readonly owner: string;
  readonly instead: string;
}

// Built from pieces so that this file does not match its own rules.
const RULES: readonly Rule[] = [
  {
    pattern: new RegExp(["Deno", "\\.test\\b"].join("")),
    owner: "_harness.ts",
    instead: "test() from tests/_harness.ts",
  },
  {
    pattern: new RegExp(["node:", "assert"].join("")),
    owner: "_assert.ts",
    instead: "tests/_assert.ts",
  },
  {
    pattern: new RegExp(["new Deno", "\\.Command\\b"].join("")),
    owner: "_harness.ts",
    instead: "spawn() or output() from tests/_harness.ts",
  },
  {
    pattern: new RegExp(["Deno", "\\.makeTempDir\\b"].join("")),
    owner: "_project.ts",
    instead: "tempDir() or TempProject from tests/_project.ts",
  },
];

async function* testSources(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory && entry.name !== "fixtures") yield* testSources(path);
    else if (entry.isFile && entry.name.endsWith(".ts")) yield path;
  }
}

test("test files follow the conventions of docs/testing.md", async () => {
  const breaches: string[] = [];
  for await (const path of testSources(TESTS.replace(/\/$/, ""))) {
    const rel = relative(TESTS, path);
    const lines = (await Deno.readTextFile(path)).split("\n");
    lines.forEach((line, index) => {
      const allowed = (text: string | undefined) => text?.includes("test-conventions: allow");
      if (allowed(line) || allowed(lines[index - 1])) return;
      for (const rule of RULES) {
        if (rel !== rule.owner && rule.pattern.test(line)) {
          breaches.push(`tests/${rel}:${index + 1}: use ${rule.instead}: ${line.trim()}`);
        }
      }
    });
  }
  assertEquals(breaches, []);
});

test("every test file registers its tests with test()", async () => {
  const without: string[] = [];
  for await (const path of testSources(TESTS.replace(/\/$/, ""))) {
    if (!path.endsWith("_test.ts")) continue;
    const text = await Deno.readTextFile(path);
    if (!/^import \{[^}]*\btest\b[^}]*\} from "(\.\.?\/)+_harness\.ts";$/m.test(text)) {
      without.push(`tests/${relative(TESTS, path)}`);
    }
  }
  assertEquals(without, []);
});
