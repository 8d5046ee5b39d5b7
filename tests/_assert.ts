/**
 * The assertions every test uses, named and shaped as in `@std/assert`
 * (which is on JSR, unreachable from our build machines; `node:assert`
 * does the comparing and prints the diffs).
 *
 * @module
 */

import nodeAssert from "node:assert/strict";
import { PivotError } from "../lib/errors.ts";

// deno-lint-ignore no-explicit-any
type Constructor<T> = new (...args: any[]) => T;
type ErrorClass<E extends Error> = Constructor<E>;

/** Fail unless `condition` is truthy. */
export function assert(condition: unknown, message?: string): asserts condition {
  nodeAssert.ok(condition, message);
}

/** Fail with `message`. */
export function fail(message: string): never {
  throw new nodeAssert.AssertionError({ message });
}

/** Fail unless `actual` deep-equals `expected` (primitives compared with `Object.is`). */
export function assertEquals<T>(actual: unknown, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

/** Fail if `actual` deep-equals `expected`. */
export function assertNotEquals(actual: unknown, expected: unknown, message?: string): void {
  nodeAssert.notDeepStrictEqual(actual, expected, message);
}

/** Fail unless `actual` is `expected` itself (`Object.is`): the same object, not a copy. */
export function assertStrictEquals<T>(actual: unknown, expected: T, message?: string): void {
  nodeAssert.strictEqual(actual, expected, message);
}

/** Fail unless `text` matches `pattern`. */
export function assertMatch(text: string, pattern: RegExp, message?: string): void {
  nodeAssert.match(text, pattern, message);
}

/** Fail if `text` matches `pattern`. */
export function assertNotMatch(text: string, pattern: RegExp, message?: string): void {
  nodeAssert.doesNotMatch(text, pattern, message);
}

/** Fail unless `value` is an instance of `type`. */
export function assertInstanceOf<T>(
  value: unknown,
  type: Constructor<T>,
  message?: string,
): asserts value is T {
  assert(
    value instanceof type,
    message ?? `expected an instance of ${type.name}, got ${describe(value)}`,
  );
}

/**
 * Fail unless `fn` throws; with `type`, an instance of it; with `pattern`, an
 * error whose message matches. Returns the error.
 */
export function assertThrows(fn: () => unknown, pattern?: RegExp): Error;
export function assertThrows<E extends Error>(
  fn: () => unknown,
  type: ErrorClass<E>,
  pattern?: RegExp,
): E;
export function assertThrows(
  fn: () => unknown,
  typeOrPattern?: ErrorClass<Error> | RegExp,
  pattern?: RegExp,
): Error {
  let result: unknown;
  try {
    result = fn();
  } catch (error) {
    return checkError(error, typeOrPattern, pattern);
  }
  if (result instanceof Promise) fail("the function returned a promise: use assertRejects");
  return fail("expected the function to throw, it returned");
}

/**
 * Fail unless `fn` rejects (or throws); with `type`, with an instance of it;
 * with `pattern`, with an error whose message matches. Returns the error.
 */
export function assertRejects(fn: () => unknown, pattern?: RegExp): Promise<Error>;
export function assertRejects<E extends Error>(
  fn: () => unknown,
  type: ErrorClass<E>,
  pattern?: RegExp,
): Promise<E>;
export async function assertRejects(
  fn: () => unknown,
  typeOrPattern?: ErrorClass<Error> | RegExp,
  pattern?: RegExp,
): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    return checkError(error, typeOrPattern, pattern);
  }
  return fail("expected a rejection, got none");
}

/**
 * Fail unless `fn` throws or rejects with a {@linkcode PivotError} (the
 * error a user sees) whose message is one line, matching `pattern` if given.
 * Returns the message.
 */
export async function assertPivotError(fn: () => unknown, pattern?: RegExp): Promise<string> {
  const error = await assertRejects(fn, PivotError, pattern);
  assert(!error.message.includes("\n"), `expected one line, got:\n${error.message}`);
  return error.message;
}

function checkError(
  error: unknown,
  typeOrPattern: ErrorClass<Error> | RegExp | undefined,
  pattern: RegExp | undefined,
): Error {
  const type = typeof typeOrPattern === "function" ? typeOrPattern : Error;
  const wanted = typeOrPattern instanceof RegExp ? typeOrPattern : pattern;
  if (!(error instanceof type)) {
    fail(`expected a ${type.name}, got ${describe(error)}`);
  }
  if (wanted) assertMatch(error.message, wanted);
  return error;
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.constructor.name}: ${value.message}`;
  return typeof value === "object" ? String(value?.constructor?.name ?? value) : String(value);
}
