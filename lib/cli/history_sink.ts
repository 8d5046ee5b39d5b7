/**
 * Recording runs in the history (`pivot history`, `pivot show`): a sink on
 * the driver that collects each wave's stage events and, at its summary,
 * records the wave as one run. Batch `repro` and `run` have one wave; watch
 * mode records each.
 *
 * @module
 */

import type { EventSink, StageEvent } from "../engine/events.ts";
import { newRunId, recordRunHistory, type RunStage } from "../storage/run_history.ts";
import type { StateStore } from "../storage/state.ts";

/** Records a driver's waves; {@link HistoryRecorder.done} waits for the writes. */
export interface HistoryRecorder {
  /** Resolves once every wave seen so far is recorded. */
  done(): Promise<void>;
}

/**
 * Record every wave of `driver` (a driver, or what emits as one) as a run of `command` (`pivot repro train`),
 * keeping at most `limit` runs. A failure to record is reported through
 * `warn`, never fails the run.
 *
 * @example
 * ```ts ignore
 * const history = recordWaves(driver, state, "pivot repro", 100, warn);
 * await driver.run();
 * await history.done();
 * ```
 */
export function recordWaves(
  driver: { subscribe(sink: EventSink): unknown },
  state: StateStore,
  command: string,
  limit: number,
  warn: (message: string) => void,
): HistoryRecorder {
  let pending = Promise.resolve();
  let started = Date.now();
  let stages: RunStage[] = [];
  driver.subscribe((event) => {
    if (event.type === "wave-start") {
      started = Date.now();
      stages = [];
    } else if (event.type === "stage") stages.push(stageOf(event));
    else if (event.type === "summary") {
      const counts: Record<string, number> = {};
      for (const stage of stages) counts[stage.status] = (counts[stage.status] ?? 0) + 1;
      const run = {
        id: newRunId(started),
        started: new Date(started).toISOString(),
        command,
        duration_ms: event.duration_ms,
        counts,
        stages,
      };
      stages = [];
      pending = pending.then(() => recordRunHistory(state, run, limit)).catch((error) =>
        warn(`could not record the run in the history: ${(error as Error).message}`)
      );
    }
  });
  return { done: () => pending };
}

function stageOf(event: StageEvent): RunStage {
  const stage = {
    name: event.stage,
    status: event.status,
    reason: event.reason,
    duration_ms: event.duration_ms,
  };
  return event.error === undefined ? stage : { ...stage, error: event.error };
}
