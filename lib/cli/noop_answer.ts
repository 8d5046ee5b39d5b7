/**
 * The fast answer of a whole-graph no-op `repro` from the record of the last
 * one (lib/cli/noop_record.ts), with only the modules it needs: the
 * launcher's attempt (lib/cli/main_in_launcher.ts) runs {@link reproFromRecord}
 * first for a command line the record may answer, and the full `repro`
 * (lib/cli/commands/repro.ts, which imports the session's loading, the
 * engine and the driver) only when the record misses
 * ({@link RecordMissed}). Its answer goes through the same sinks and
 * history recorder as the full way's ({@link answerRecordedNoop}, which the
 * full way calls too): the same output, the same history.
 *
 * It opens the project as the full way's session does, in the same order
 * (project, pipeline file, leftovers, state, configuration, Deno config,
 * params overrides), and any doubt (an error, a configuration warning,
 * `core.check`, `PIVOT_LOAD_CACHE=off`) is a miss: the full way, from the
 * start, gives its own answer (docs/performance.md, "176-stage no-op,
 * eleventh session").
 *
 * @module
 */

import { dirname } from "../posix_path.ts";
import type { EngineEvent, EventSink } from "../engine/events.ts";
import { findDenoConfig, findPipelineFile, findProject } from "../pipeline/find_project.ts";
import { readProjectConfig } from "../pipeline/project_config.ts";
import { readParamsOverrides } from "../pipeline/params_overrides.ts";
import { StateStore } from "../storage/state.ts";
import { cleanLeftovers, closeTempJournal, useTempJournal } from "../storage/temp_files.ts";
import { ChildNeeded, commitAttempt } from "../launcher_attempt.ts";
import { mark } from "../trace.ts";
import { type Command, type CommandEnv, intOption } from "./command.ts";
import { recordWaves } from "./history_sink.ts";
import { recordedStages } from "./noop_record.ts";
import { REPRO_HEADING, REPRO_RECORD_OPTIONS } from "./repro_spec.ts";

export { answersCommandLine } from "./noop_record.ts";
import { consoleSink, jsonSink } from "./sinks.ts";

/**
 * Thrown by {@link reproFromRecord} when the record does not answer, having
 * written nothing: the attempt runs the full `repro` instead. A
 * {@link ChildNeeded}, so that the command line's error handling passes it
 * on as it does that.
 */
export class RecordMissed extends ChildNeeded {
  /** `why`: what missed, for the trace. */
  constructor(why: string) {
    super(why);
    // Not the child's words: the full way follows in this process (the trace tells them apart).
    this.message = `the no-op record does not answer: ${why}`;
    this.name = "RecordMissed";
  }
}

/** What {@link answerRecordedNoop} needs of the command's session. */
export interface RecordedNoopSession {
  readonly context: { readonly state: StateStore };
  /** How many runs the history keeps (`core.history`). */
  readonly historyLimit: number;
}

/**
 * Answer a no-op `repro` of every stage from the record of the last one
 * (`names`, lib/cli/noop_record.ts): the events the engine's settled wave
 * emits (`Engine.#skipAll`), through the same sinks and the same history
 * recorder as `runOnce` (lib/cli/wave.ts). Resolves with the exit code, 0.
 */
export async function answerRecordedNoop(
  session: RecordedNoopSession,
  names: readonly string[],
  flags: { readonly json: boolean },
  env: CommandEnv,
): Promise<number> {
  const started = performance.now();
  const sinks: EventSink[] = [];
  const events = { subscribe: (sink: EventSink) => void sinks.push(sink) };
  events.subscribe(flags.json ? jsonSink(env.output) : consoleSink(env.output));
  const command = ["pivot", ...(env.args ?? [])].join(" ");
  const history = recordWaves(
    events,
    session.context.state,
    command,
    session.historyLimit,
    (message) => env.output.error(`warning: ${message}`),
  );
  const emit = (event: EngineEvent) => {
    for (const sink of sinks) sink(event);
  };
  emit({ type: "wave-start", stages: [...names] });
  for (const stage of names) {
    emit({ type: "stage", stage, status: "skipped", reason: "up to date", duration_ms: 0 });
  }
  emit({
    type: "summary",
    ran: 0,
    skipped: names.length,
    restored: 0,
    failed: 0,
    blocked: 0,
    cancelled: 0,
    duration_ms: Math.round(performance.now() - started),
  });
  mark("repro: answered from the no-op record");
  await history.done();
  mark("repro: history recorded");
  return 0;
}

/**
 * `repro` answered from the record only: for a command line the record may
 * answer (`answersCommandLine`), in the launcher's attempt. Throws
 * {@link RecordMissed}, having written nothing, when it does not answer.
 */
export const reproFromRecord: Command = {
  ...REPRO_HEADING,
  // What `answersCommandLine` lets through; the rest of `repro`'s go the full way.
  options: REPRO_RECORD_OPTIONS,
  async run({ values }, env) {
    // Checked as the full way checks it, first (a whole number ≥ 1 by `answersCommandLine`).
    intOption(values.jobs, "jobs", "repro");
    if (Deno.env.get("PIVOT_LOAD_CACHE") === "off") throw new RecordMissed("no load cache");
    const warn = (message: string) => env.output.error(`warning: ${message}`);
    let opened: { state: StateStore; names: readonly string[]; historyLimit: number };
    let state: StateStore | undefined;
    try {
      // As the session opens a project (lib/cli/session.ts, `openSession`).
      const project = findProject(env.cwd);
      const pipelineFile = findPipelineFile(project, env.cwd);
      cleanLeftovers(project.tmpDir);
      useTempJournal(project.tmpDir);
      state = await StateStore.open(project.stateDir, { onReset: warn });
      mark("session: state open");
      const config = await readProjectConfig(project, { state });
      mark("session: configuration read");
      // Warnings are printed first on the full way: left to it.
      if (config.warnings.length > 0) throw new RecordMissed("configuration warnings");
      // `core.check` type-checks, which the record never skips.
      if (config.check) throw new RecordMissed("core.check");
      const denoConfig = findDenoConfig(dirname(pipelineFile));
      const paramsYaml = await readParamsOverrides(project, state);
      const basis = {
        project,
        pipelineFile,
        denoConfig,
        paramsYaml,
        config,
      };
      mark("session: params overrides read");
      const names = await recordedStages(basis, state);
      if (names === undefined) throw new RecordMissed("the record does not hold");
      opened = { state, names, historyLimit: config.history };
    } catch (error) {
      // Any doubt: the full way, from the start, which gives its own answer.
      try {
        await state?.close();
      } catch {
        // the full way opens it again, and says what fails
      }
      closeTempJournal();
      if (error instanceof RecordMissed) throw error;
      throw new RecordMissed(error instanceof Error ? error.message : String(error));
    }
    mark("session: answered from the no-op record");
    commitAttempt();
    // Closed as the session closes (`Session.close`).
    try {
      const session = { context: { state: opened.state }, historyLimit: opened.historyLimit };
      return await answerRecordedNoop(session, opened.names, { json: Boolean(values.json) }, env);
    } finally {
      try {
        mark("session: closing");
        await opened.state.close();
        mark("session: state closed");
      } finally {
        closeTempJournal();
      }
    }
  },
};
