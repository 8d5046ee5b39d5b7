/**
 * Phase timings for finding where time goes: set `PIVOT_TRACE=1` and each
 * {@link mark} prints the milliseconds since the process started to stderr,
 * with the CPU time of the calling thread so far where Linux tells it (on a
 * loaded machine the wall time between two marks says little).
 *
 * @module
 */

const enabled = Deno.env.get("PIVOT_TRACE") === "1";

/** Print `label` with the time since process start, when tracing is on. */
export function mark(label: string): void {
  if (!enabled) return;
  const cpu = threadCpuMs();
  const shown = cpu === undefined
    ? ""
    : ` (cpu ${cpu[0].toFixed(1)}, runnable ${cpu[1].toFixed(1)})`;
  console.error(`[trace] ${performance.now().toFixed(1)} ms${shown}  ${label}`);
}

/** The calling thread's CPU time in ms, from `/proc/thread-self/schedstat` (Linux only). */
function threadCpuMs(): [number, number] | undefined {
  try {
    const [ns, waited] = Deno.readTextFileSync("/proc/thread-self/schedstat").split(" ");
    return [Number(ns) / 1e6, Number(waited) / 1e6];
  } catch {
    return undefined;
  }
}
