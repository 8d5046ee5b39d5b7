/**
 * Phase timings for finding where time goes: set `PIVOT_TRACE=1` and each
 * {@link mark} prints the milliseconds since the process started to stderr,
 * with the CPU time of the calling thread so far and its time spent waiting
 * to run, where Linux tells them, and the CPU time of the whole process
 * (every thread: workers, Deno's blocking pool), to the clock tick (on a
 * loaded machine the wall time between two marks says little), the process's
 * resident memory and the calling isolate's V8 heap (used/committed).
 *
 * @module
 */

// Read only where granted (never a prompt or an error: a sandboxed worker may load this module).
const enabled = Deno.permissions.querySync({ name: "env", variable: "PIVOT_TRACE" }).state ===
    "granted" && Deno.env.get("PIVOT_TRACE") === "1";

/** Print `label` with the time since process start, when tracing is on. */
export function mark(label: string): void {
  if (!enabled) return;
  const cpu = threadCpuMs();
  const all = processCpuMs();
  const shown = cpu === undefined
    ? ""
    : ` (cpu ${cpu[0].toFixed(1)}, runnable ${cpu[1].toFixed(1)}` +
      (all === undefined ? "" : `, process ${all.toFixed(0)}`) + ")";
  console.error(`[trace] ${performance.now().toFixed(1)} ms${shown}${memory()}  ${label}`);
}

const MIB = 1024 * 1024;

/** Resident memory and the calling isolate's V8 heap, in MiB. */
function memory(): string {
  const { rss, heapUsed, heapTotal, external } = Deno.memoryUsage();
  const mib = (n: number) => (n / MIB).toFixed(0);
  return ` [rss ${mib(rss)}, heap ${mib(heapUsed)}/${mib(heapTotal)}, ext ${mib(external)} MiB]`;
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

/** The process's CPU time (user + system, every thread) in ms, from `/proc/self/stat` (Linux only). */
function processCpuMs(): number | undefined {
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    // Fields after the command name (which may hold spaces): utime, stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}
