import { describeImportError, importErrorLine } from "../../lib/pipeline/_import_error.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

/** Errors shaped as Deno 2.9 gives them for a failed dynamic import. */
function syntaxError(): Error {
  const error = new TypeError(
    "SyntaxError: Expression expected\n  |\n1 | export function helper() { return 1 +; }\n" +
      "  |                                      ~\n    at file:///p/lib/model.ts:1:38",
  );
  return error;
}

test("a syntax error's place is taken from its message", () => {
  const failure = describeImportError(syntaxError(), "/p");
  assertEquals(failure, {
    where: "lib/model.ts:1:38",
    file: "/p/lib/model.ts",
    what: "SyntaxError: Expression expected",
    missing: undefined,
  });
  assertEquals(
    importErrorLine(syntaxError(), "/p/pipeline.ts", "/p"),
    "lib/model.ts:1:38: SyntaxError: Expression expected (while loading pipeline.ts)",
  );
});

test("a missing module names the importing place and the missing file, colour codes removed", () => {
  const error = new TypeError(
    'Module not found "file:///p/lib/nope.ts".\n    at \x1b[36mfile:///p/lib/model.ts\x1b[0m:\x1b[33m1\x1b[0m:\x1b[33m8\x1b[0m',
  );
  assertEquals(
    importErrorLine(error, "/p/pipeline.ts", "/p"),
    "lib/model.ts:1:8: imports lib/nope.ts, which does not exist (while loading pipeline.ts)",
  );
});

test("an error thrown at evaluation takes the first frame outside Pivot's own code", () => {
  const error = new ReferenceError("undefinedThing is not defined");
  error.stack = "ReferenceError: undefinedThing is not defined\n    at file:///p/pipeline.ts:2:1";
  assertEquals(
    importErrorLine(error, "/p/pipeline.ts", "/p"),
    "pipeline.ts:2:1: ReferenceError: undefinedThing is not defined",
  );
});

test("without a place, the pipeline file is named", () => {
  const error = new TypeError("JSR package manifest for '@pivot/core' failed to load.");
  error.stack = "TypeError: JSR package manifest for '@pivot/core' failed to load.";
  assertEquals(
    importErrorLine(error, "/p/pipeline.ts", "/p"),
    "pipeline.ts: failed to load: TypeError: JSR package manifest for '@pivot/core' failed to load.",
  );
});

test("a module outside the project is named by its absolute path", () => {
  const error = new Error("boom");
  error.stack = "Error: boom\n    at file:///elsewhere/lib.ts:4:9";
  assertEquals(
    importErrorLine(error, "/p/pipeline.ts", "/p"),
    "/elsewhere/lib.ts:4:9: Error: boom (while loading pipeline.ts)",
  );
});
