/**
 * Small assertions for the remote tests.
 *
 * @module
 */

import { assert } from "../_assert.ts";

/** Assert that `text` contains `part`. */
export function assertIncludes(text: string, part: string): void {
  assert(
    text.includes(part),
    `expected ${JSON.stringify(text)} to include ${JSON.stringify(part)}`,
  );
}

/** Assert that `fn` rejects with an instance of `kind`; returns the error. */
export async function rejectsWith<E extends Error>(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  kind: new (...args: any[]) => E,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    assert(error instanceof kind, `expected a ${kind.name}, got ${error}`);
    return error;
  }
  throw new Error(`expected a ${kind.name}, got no error`);
}
