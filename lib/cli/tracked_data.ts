/**
 * Tracked data (`.pvt` files) in the commands that also cover stages:
 * `checkout` restores it, `status` reports it when it changed.
 *
 * @module
 */

import type { EngineContext } from "../engine/context.ts";
import type { OutDef } from "../model/stage_def.ts";
import type { CheckoutMode } from "../storage/cache.ts";
import type { TrackedStatus } from "../storage/track.ts";
import type { TrackedData } from "../storage/track_file.ts";
import type { Output } from "./output.ts";

/** Options of {@link checkoutTracked}. */
export interface TrackedCheckoutOptions {
  /** How to place files (`--mode`, or the config's). */
  readonly mode: CheckoutMode;
  /** Replace data modified in the workspace. */
  readonly force: boolean;
  /** Restore only data missing from the workspace. */
  readonly onlyMissing: boolean;
}

/**
 * Restore tracked data from the cache as its `.pvt` file records it: data
 * missing from the workspace, and data modified there when `force` is given
 * or its current content is itself in the cache (then nothing is lost).
 * Returns how many paths were restored and how many problems were reported.
 *
 * @example
 * ```ts ignore
 * const { restored, problems } = await checkoutTracked(context, statuses, options, output);
 * ```
 */
export async function checkoutTracked(
  context: EngineContext,
  statuses: readonly TrackedStatus[],
  options: TrackedCheckoutOptions,
  output: Output,
): Promise<{ restored: number; problems: number }> {
  // Loaded here: `status` prints tracked data with this module and restores nothing.
  const { restorable } = await import("../engine/decide.ts");
  const { restoreOut } = await import("../engine/workspace_outs.ts");
  let restored = 0;
  let problems = 0;
  for (const { data, status, hash } of statuses) {
    if (status === "up-to-date") continue;
    if (status === "modified") {
      if (options.onlyMissing) continue;
      // Safe when the cache holds every object of the current content: for a
      // directory, its manifest alone (written when it was hashed) is not.
      const safe = hash !== undefined &&
        await restorable(context, hash, data.files !== undefined);
      if (!options.force && !safe) {
        output.error(
          `${data.path}: modified since it was tracked; use --force to replace it, or 'pivot track ${data.path}' to record it`,
        );
        problems++;
        continue;
      }
    }
    if (await restoreOut(context, asOut(data), lockedOf(data), options.mode)) {
      restored++;
      if (!output.quiet) output.line(`restored  ${data.path}`);
    } else {
      output.error(
        `${data.path}: not in the cache (recorded by ${data.path}.pvt): fetch it from a remote, or track it again where it exists`,
      );
      problems++;
    }
  }
  return { restored, problems };
}

/** Tracked data seen as an out, so it is restored exactly as outs are. */
function asOut(data: TrackedData): OutDef {
  return {
    name: data.path,
    path: data.path,
    abs: data.abs,
    isDir: data.files !== undefined,
    loader: undefined,
    kind: "out",
    cache: true,
    selfWritten: true,
  };
}

function lockedOf(data: TrackedData) {
  return { path: data.path, hash: data.hash, kind: "out" as const };
}

/**
 * Print the tracked data that is not as its `.pvt` file records it, one
 * line each with what to do; nothing when all of it is.
 *
 * @example
 * ```ts ignore
 * printTrackedStatus(output, await trackedStatus(root, state));
 * ```
 */
export function printTrackedStatus(output: Output, statuses: readonly TrackedStatus[]): void {
  const changed = statuses.filter((s) => s.status !== "up-to-date");
  if (changed.length === 0) return;
  output.line("");
  output.line("Tracked data:");
  for (const { data, status } of changed) {
    const hint = status === "missing"
      ? `'pivot checkout ${data.path}' restores it`
      : `'pivot track ${data.path}' records it, 'pivot checkout --force ${data.path}' restores it`;
    output.line(`  ${status.padEnd(8)}  ${data.path}  (${hint})`);
  }
}

/**
 * Tracked data as JSON for `status --json`: `[{"path", "status", "old",
 * "new"}]` (hashes; `new` is null when missing).
 *
 * @example
 * ```ts ignore
 * trackedJson(statuses); // [{ path: "data/raw.csv", status: "modified", old: "…", new: "…" }]
 * ```
 */
export function trackedJson(statuses: readonly TrackedStatus[]): Record<string, unknown>[] {
  return statuses.map(({ data, status, hash }) => ({
    path: data.path,
    status,
    old: data.hash,
    new: hash ?? null,
  }));
}
