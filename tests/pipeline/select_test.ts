import { PivotError } from "../../lib/errors.ts";
import { matchStageNames } from "../../lib/pipeline/select.ts";
import { assert, assertEquals } from "../_assert.ts";

const STAGES = [
  "prep",
  "train@small_train",
  "train@small_test",
  "train@large_train",
  "evaluate",
];

function errorOf(patterns: string[], names: readonly string[] = STAGES): string {
  try {
    matchStageNames(patterns, names);
  } catch (error) {
    assert(error instanceof PivotError, `expected a PivotError, got ${error}`);
    return error.message;
  }
  throw new Error("expected an error");
}

Deno.test("no patterns select every stage", () => {
  assertEquals(matchStageNames([], STAGES), STAGES);
});

Deno.test("exact names are returned in pipeline order, not argument order", () => {
  assertEquals(matchStageNames(["evaluate", "prep"], STAGES), ["prep", "evaluate"]);
});

Deno.test("a stage named twice is returned once", () => {
  assertEquals(matchStageNames(["prep", "prep", "p*"], STAGES), ["prep"]);
});

Deno.test("train@* selects every variant of train", () => {
  assertEquals(matchStageNames(["train@*"], STAGES), [
    "train@small_train",
    "train@small_test",
    "train@large_train",
  ]);
});

Deno.test("an exact variant name selects that variant", () => {
  assertEquals(matchStageNames(["train@small_test"], STAGES), ["train@small_test"]);
});

Deno.test("a base name without a stage of its own selects all its variants", () => {
  assertEquals(matchStageNames(["train"], STAGES).length, 3);
});

Deno.test("globs match anywhere in the name", () => {
  assertEquals(matchStageNames(["*_train"], STAGES), ["train@small_train", "train@large_train"]);
  assertEquals(matchStageNames(["train@?????_test"], STAGES), ["train@small_test"]);
});

Deno.test("glob metacharacters other than * and ? are literal", () => {
  assertEquals(matchStageNames(["a.c"], ["a.c", "abc"]), ["a.c"]);
});

Deno.test("an unknown name suggests the closest stage", () => {
  assertEquals(errorOf(["trian"]), "unknown stage 'trian': did you mean 'train'?");
  assertEquals(errorOf(["evalute"]), "unknown stage 'evalute': did you mean 'evaluate'?");
});

Deno.test("an unknown name with nothing close points at pivot list", () => {
  assertEquals(errorOf(["zzz"]), "unknown stage 'zzz': run 'pivot list' to see the stages");
});

Deno.test("a variant pattern with a misspelt base suggests the right base", () => {
  assertEquals(errorOf(["trian@*"]), "pattern 'trian@*' matches no stage: did you mean 'train@*'?");
});

Deno.test("a variant pattern on a stage without variants says so", () => {
  assertEquals(
    errorOf(["prep@*"]),
    "pattern 'prep@*' matches no stage: stage 'prep' has no variants",
  );
});

Deno.test("a pattern that matches nothing is an error", () => {
  assertEquals(
    errorOf(["x*"]),
    "pattern 'x*' matches no stage: run 'pivot list' to see the stages",
  );
});

Deno.test("selecting from an empty pipeline says so", () => {
  assertEquals(errorOf(["a"], []), "unknown stage 'a': the pipeline has no stages");
});

Deno.test("an empty pattern is an error", () => {
  assertEquals(errorOf([""]), "empty stage name: name a stage or a pattern (train@*)");
});
