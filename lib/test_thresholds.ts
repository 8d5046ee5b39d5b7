/**
 * Size thresholds the test suite may shrink, as git does with its
 * `GIT_TEST_*` variables: with `PIVOT_TEST_THRESHOLDS=small` in the
 * environment (set by `deno task test`, inherited by the `pivot` processes
 * the tests start), each count threshold that gates a large-scale code path
 * (a helper thread, libc's `statx`, chunked stamps…) takes its small value,
 * so tests reach those paths with tens or hundreds of files instead of
 * thousands. Users and the bench never set it: the production values apply.
 *
 * Reading the variable never prompts, throws or needs a permission: it is
 * read only where env access to it is granted already (a sandboxed stage
 * worker, or a helper worker without env access, gets the production
 * values).
 *
 * A threshold that gates a code path goes through {@link threshold}
 * (docs/testing.md, "Small thresholds for tests").
 *
 * @example
 * ```ts
 * import { threshold } from "./test_thresholds.ts";
 *
 * // 16,384 for users, 256 under PIVOT_TEST_THRESHOLDS=small.
 * export const PARALLEL_FROM = threshold(16_384, 256);
 * ```
 *
 * @module
 */

/** The environment variable that selects the small thresholds. */
export const TEST_THRESHOLDS_VARIABLE = "PIVOT_TEST_THRESHOLDS";

/** True when `PIVOT_TEST_THRESHOLDS=small` is set and may be read without asking. */
export const smallThresholds: boolean = readSmall();

function readSmall(): boolean {
  try {
    const query = { name: "env", variable: TEST_THRESHOLDS_VARIABLE } as const;
    if (Deno.permissions.querySync(query).state !== "granted") return false;
    return Deno.env.get(TEST_THRESHOLDS_VARIABLE) === "small";
  } catch {
    return false;
  }
}

/** `production`, or `small` under `PIVOT_TEST_THRESHOLDS=small` (tests only). */
export function threshold(production: number, small: number): number {
  return smallThresholds ? small : production;
}
