/**
 * Retries with exponential backoff and full jitter (as AWS recommends), for
 * faults that may pass: 5xx and 429 responses, connection resets, timeouts.
 *
 * @module
 */

/** How hard to retry. */
export interface RetryPolicy {
  /** Tries in all (1 = no retry). */
  readonly attempts: number;
  /** Backoff before the first retry, ms; doubled each time. */
  readonly baseMs: number;
  /** Longest backoff, ms. */
  readonly maxMs: number;
}

/** The default: 6 tries, 100 ms doubling to at most 5 s (about 10 s in the worst case). */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseMs: 100, maxMs: 5_000 };

/** A fault worth retrying; `cause` holds what happened. */
export class TransientError extends Error {
  override name = "TransientError";
}

/**
 * Run `attempt` until it succeeds, throws something other than a
 * {@link TransientError}, or `policy.attempts` tries have failed (then the
 * last error is thrown). `onRetry` is told before each retry.
 *
 * @example
 * ```ts
 * import { DEFAULT_RETRY, withRetries } from "./retry.ts";
 * const answer = await withRetries(DEFAULT_RETRY, () => Promise.resolve(42));
 * ```
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  attempt: (n: number) => Promise<T>,
  onRetry: (error: TransientError, n: number) => void = () => {},
): Promise<T> {
  for (let n = 1;; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (!(error instanceof TransientError) || n >= policy.attempts) throw error;
      onRetry(error, n);
      const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (n - 1));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
    }
  }
}
