/**
 * Phase timings for finding where time goes: set `PIVOT_TRACE=1` and each
 * {@link mark} prints the milliseconds since the process started to stderr.
 *
 * @module
 */

const enabled = Deno.env.get("PIVOT_TRACE") === "1";

/** Print `label` with the time since process start, when tracing is on. */
export function mark(label: string): void {
  if (enabled) console.error(`[trace] ${performance.now().toFixed(1)} ms  ${label}`);
}
