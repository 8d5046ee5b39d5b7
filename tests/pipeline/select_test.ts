import { PivotError } from "../../lib/errors.ts";
import { matchStageNames } from "../../lib/pipeline/select.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { test } from "../_harness.ts";

const STAGES = [
  "prep",
  "train@small_train",
  "train@small_test",
  "train@large_train",
  "evaluate",
];

function errorOf(patterns: string[], names: readonly string[] = STAGES): string {
  return assertThrows(() => matchStageNames(patterns, names), PivotError).message;
}

test("no patterns select every stage", () => {
  assertEquals(matchStageNames([], STAGES), STAGES);
});

test("exact names are returned in pipeline order, not argument order", () => {
  assertEquals(matchStageNames(["evaluate", "prep"], STAGES), ["prep", "evaluate"]);
});

test("a stage named twice is returned once", () => {
  assertEquals(matchStageNames(["prep", "prep", "p*"], STAGES), ["prep"]);
});

test("train@* selects every variant of train", () => {
  assertEquals(matchStageNames(["train@*"], STAGES), [
    "train@small_train",
    "train@small_test",
    "train@large_train",
  ]);
});

test("an exact variant name selects that variant", () => {
  assertEquals(matchStageNames(["train@small_test"], STAGES), ["train@small_test"]);
});

test("a base name without a stage of its own selects all its variants", () => {
  assertEquals(matchStageNames(["train"], STAGES).length, 3);
});

test("globs match anywhere in the name", () => {
  assertEquals(matchStageNames(["*_train"], STAGES), ["train@small_train", "train@large_train"]);
  assertEquals(matchStageNames(["train@?????_test"], STAGES), ["train@small_test"]);
});

test("glob metacharacters other than * and ? are literal", () => {
  assertEquals(matchStageNames(["a.c"], ["a.c", "abc"]), ["a.c"]);
});

test("an unknown name suggests the closest stage", () => {
  assertEquals(errorOf(["trian"]), "unknown stage 'trian': did you mean 'train'?");
  assertEquals(errorOf(["evalute"]), "unknown stage 'evalute': did you mean 'evaluate'?");
});

test("an unknown name with nothing close points at pivot list", () => {
  assertEquals(errorOf(["zzz"]), "unknown stage 'zzz': run 'pivot list' to see the stages");
});

test("a variant pattern with a misspelt base suggests the right base", () => {
  assertEquals(errorOf(["trian@*"]), "pattern 'trian@*' matches no stage: did you mean 'train@*'?");
});

test("a variant pattern on a stage without variants says so", () => {
  assertEquals(
    errorOf(["prep@*"]),
    "pattern 'prep@*' matches no stage: stage 'prep' has no variants",
  );
});

test("a pattern that matches nothing is an error", () => {
  assertEquals(
    errorOf(["x*"]),
    "pattern 'x*' matches no stage: run 'pivot list' to see the stages",
  );
});

test("selecting from an empty pipeline says so", () => {
  assertEquals(errorOf(["a"], []), "unknown stage 'a': the pipeline has no stages");
});

test("an empty pattern is an error", () => {
  assertEquals(errorOf([""]), "empty stage name: name a stage or a pattern (train@*)");
});
