/**
 * Assertions for tests (JSR's @std/assert is not reachable from our build
 * machines; node:assert covers what we need).
 *
 * @module
 */

import nodeAssert from "node:assert/strict";

/** Fail unless `condition` is truthy. */
export function assert(condition: unknown, message?: string): asserts condition {
  nodeAssert.ok(condition, message);
}

/** Fail unless `actual` deep-equals `expected`. */
export function assertEquals<T>(actual: unknown, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

/** Fail unless `text` matches `pattern`. */
export function assertMatch(text: string, pattern: RegExp, message?: string): void {
  nodeAssert.match(text, pattern, message);
}

/** Fail unless `text` does not match `pattern`. */
export function assertNotMatch(text: string, pattern: RegExp, message?: string): void {
  nodeAssert.doesNotMatch(text, pattern, message);
}

/** Fail unless `fn` rejects (or throws) with an error whose message matches `pattern`. */
export async function assertRejects(
  fn: () => unknown,
  pattern?: RegExp,
): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    if (pattern) nodeAssert.match((error as Error).message, pattern);
    return error as Error;
  }
  throw new Error("expected a rejection, got none");
}
