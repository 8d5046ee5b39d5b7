/**
 * Hand back to the system the memory a burst of work left behind: V8's heap
 * pages and the C allocator's free memory.
 *
 * Compiling a module of megabytes (a generated 10,000-stage `pipeline.ts`)
 * costs V8 ~75 MB of short-lived parser and compiler memory, from `malloc`.
 * glibc keeps what is freed in its arenas (one per thread that allocated,
 * workers included) instead of returning it, so each compile of that module
 * (the main thread's, then each worker's) left ~70 MiB resident for the rest
 * of the run. `malloc_trim(0)` returns every free page, in a few
 * milliseconds (docs/performance.md, "Peak memory of a 10,000-stage full
 * run").
 *
 * V8 likewise keeps the heap pages it grew to (parsing that module with the
 * TypeScript API for its fingerprint: ~180 MiB of heap for ~100 MiB live)
 * until a major collection that it starts when it sees fit, minutes into a
 * full run, after the workers have added theirs. {@link releaseHeapAndFreed}
 * runs one at once.
 *
 * Linux with glibc only, through FFI, and only when FFI is already allowed
 * (the CLI's child runs with `-A`): elsewhere this does nothing. It is not
 * called on the path of a small no-op.
 *
 * @module
 */

/** Resident size from which a trim is worth its milliseconds. */
export const TRIM_FROM_BYTES = 160 * 1024 * 1024;

let trim: (() => void) | null | undefined;

function trimmer(): (() => void) | null {
  if (Deno.build.os !== "linux") return null;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return null;
    const libc = Deno.dlopen("libc.so.6", {
      malloc_trim: { parameters: ["usize"], result: "i32" },
    });
    return () => void libc.symbols.malloc_trim(0n);
  } catch {
    return null; // not glibc (musl has no libc.so.6), or no FFI
  }
}

/**
 * Return the allocator's free memory to the system when this process holds
 * {@link TRIM_FROM_BYTES} or more (below that there is little to gain).
 * Safe to call from any thread; it never throws.
 */
export function releaseFreedMemory(): void {
  if (trim === null) return;
  if (Deno.memoryUsage().rss < TRIM_FROM_BYTES) return;
  trim ??= trimmer();
  trim?.();
}

/**
 * Heap size (committed) from which a major collection is worth its ~100 ms:
 * a 10,000-stage pipeline's main heap is ~115 MiB committed (~80 live) when
 * its first worker is made, a 2,000-stage one's under 60 MiB. Without the
 * collection V8 kept those pages and grew from there through the run, whose
 * end (~320 MiB RSS) became the peak (docs/performance.md, "Peak memory at
 * 10,000 stages, sixth session").
 */
export const COLLECT_FROM_BYTES = 96 * 1024 * 1024;

/**
 * How far the heap may grow back (committed) past what a collection left
 * before the next: at 32 MiB a 10,000-stage wave still ended ~20 MiB above
 * its start, the run's peak; at 16 about six collections of ~100 ms fire in
 * that run (docs/performance.md, "Peak memory, seventh session").
 */
export const REGROW_BYTES = 16 * 1024 * 1024;

let collect: (() => void) | undefined;
/** The heap's committed size after this process's last collection, if it made one. */
let collectedAt: number | undefined;

/**
 * A major collection of this isolate's heap (giving back the pages it frees),
 * then {@link releaseFreedMemory}, when the heap has grown to
 * {@link COLLECT_FROM_BYTES}: for a point after a burst (fingerprinting a
 * large pipeline) and before more memory is needed (workers importing it).
 * `fromBytes`: another bar, for a caller that knows a burst has just ended.
 */
export async function releaseHeapAndFreed(fromBytes = COLLECT_FROM_BYTES): Promise<void> {
  if (Deno.memoryUsage().heapTotal >= fromBytes) {
    collect ??= await collector();
    collect();
    collectedAt = Deno.memoryUsage().heapTotal;
  }
  releaseFreedMemory();
}

/** How far the heap may grow back during a burst before {@link releaseHeapIfGrown} collects again. */
export const BURST_REGROW_BYTES = 32 * 1024 * 1024;

/**
 * For a long burst of small allocations (the commit of a 100,000-file
 * directory: ~1 KB of short-lived stats, buffers and promises a file, most
 * of it promoted while several files are in flight): a collection when the
 * heap has reached {@link COLLECT_FROM_BYTES} (committed) and grown
 * {@link BURST_REGROW_BYTES} past what this process's last collection left. V8
 * left it to grow to ~200 MiB committed for ~60 MiB live, the peak of such
 * a run (docs/performance.md, "Peak memory of a 100,000-file out"). Cheap
 * when it does nothing (one `Deno.memoryUsage()`): call it every few
 * thousand files.
 */
export async function releaseHeapIfGrown(): Promise<void> {
  const total = Deno.memoryUsage().heapTotal;
  if (total < COLLECT_FROM_BYTES) return;
  if (collectedAt !== undefined && total < collectedAt + BURST_REGROW_BYTES) return;
  await releaseHeapAndFreed();
}

/**
 * Once {@link releaseHeapAndFreed} has collected (a big pipeline), collect
 * again when the heap has grown {@link REGROW_BYTES} past what the last
 * collection left. Through a 10,000-stage run V8 made one major collection
 * of its own and let the heap grow from ~75 to ~150 MiB committed (for ~80
 * live) until the run ended, the run's peak. Cheap when it does nothing (one
 * `Deno.memoryUsage()`); a small pipeline, whose heap never reached
 * {@link COLLECT_FROM_BYTES}, never collects.
 */
export function releaseHeapIfRegrown(): void {
  if (collect === undefined || collectedAt === undefined) return;
  if (Deno.memoryUsage().heapTotal < collectedAt + REGROW_BYTES) return;
  collect();
  collectedAt = Deno.memoryUsage().heapTotal;
}

/**
 * V8's `gc()`, which only `--expose-gc` provides: the flag is set just long
 * enough to make one context with it, then unset, so that no other context
 * (the user's code, the workers) sees a `gc` global.
 */
async function collector(): Promise<() => void> {
  const [{ default: v8 }, { default: vm }] = await Promise.all([
    import("node:v8"),
    import("node:vm"),
  ]);
  v8.setFlagsFromString("--expose-gc");
  try {
    return vm.runInNewContext("gc") as () => void;
  } finally {
    v8.setFlagsFromString("--no-expose-gc");
  }
}
