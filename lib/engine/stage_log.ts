/**
 * The log of each stage's last run (and how it ended, and how long it took),
 * kept in the state store so that it outlives the process that ran the
 * stage: the web UI shows it for runs made by a `pivot repro` in a terminal,
 * or before the UI started.
 *
 * Only the end of a long log is kept (Deno KV caps a value at 64 KiB). A run
 * with `--no-commit` records nothing.
 *
 * @module
 */

import { NS, type StateStore } from "../storage/state.ts";
import type { EngineEvent, EventSink, StageStatus } from "./events.ts";

/** One line a stage printed. */
export interface StoredLine {
  /** The stream. */
  readonly stream: "stdout" | "stderr";
  /** The text, without its newline. */
  readonly text: string;
}

/** What a stage printed in its last run. */
export interface StoredLog {
  /** When the run ended (ms since the epoch). */
  readonly finished: number;
  /** How it ended. */
  readonly status: StageStatus;
  /** How long it took. */
  readonly duration_ms: number;
  /** The last lines. */
  readonly lines: readonly StoredLine[];
  /** How many earlier lines were not kept. */
  readonly dropped: number;
}

/** The most text kept per stage (characters), under Deno KV's 64 KiB value limit. */
const STORED_LOG_CHARS = 48_000;

/**
 * A sink that records each stage's log when its run ends, in the state
 * store of `state()` (deferred: committed with the wave's other state).
 *
 * @example
 * ```ts ignore
 * driver.subscribe(stageLogRecorder(() => driver.context.state));
 * ```
 */
export function stageLogRecorder(state: () => StateStore): EventSink {
  const running = new Map<string, StoredLine[]>();
  return (event: EngineEvent) => {
    switch (event.type) {
      case "stage-start":
        running.set(event.stage, []);
        break;
      case "log":
        running.get(event.stage)?.push({ stream: event.stream, text: event.text });
        break;
      case "stage": {
        const lines = running.get(event.stage);
        if (!lines) break; // decided without running: the last run's log stays
        running.delete(event.stage);
        const kept = lastLines(lines, STORED_LOG_CHARS);
        const log: StoredLog = {
          finished: Date.now(),
          status: event.status,
          duration_ms: event.duration_ms,
          lines: kept,
          dropped: lines.length - kept.length,
        };
        state().defer([NS.log, event.stage], log);
        break;
      }
    }
  };
}

/** The last lines of `lines` holding at most `chars` characters in all. */
function lastLines(lines: readonly StoredLine[], chars: number): StoredLine[] {
  let total = 0;
  let start = lines.length;
  while (start > 0 && total + lines[start - 1].text.length + 16 <= chars) {
    start--;
    total += lines[start].text.length + 16;
  }
  return lines.slice(start);
}

/** The log of `stage`'s last run, if one was recorded (a malformed entry counts as none). */
export async function readStageLog(
  state: StateStore,
  stage: string,
): Promise<StoredLog | undefined> {
  const value = await state.get<unknown>([NS.log, stage]);
  return isStoredLog(value) ? value : undefined;
}

function isStoredLog(value: unknown): value is StoredLog {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.finished === "number" && typeof v.status === "string" &&
    typeof v.duration_ms === "number" &&
    typeof v.dropped === "number" && Array.isArray(v.lines) &&
    v.lines.every((line) =>
      typeof line === "object" && line !== null &&
      (line.stream === "stdout" || line.stream === "stderr") && typeof line.text === "string"
    );
}
