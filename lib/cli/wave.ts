/**
 * Running one wave from the command line (`repro`, `run`): a worker pool, an
 * engine, the right sink, and Ctrl-C wired to cancellation.
 *
 * @module
 */

import { join } from "node:path";
import { Engine } from "../engine/engine.ts";
import type { SummaryEvent } from "../engine/events.ts";
import type { StageDef } from "../pipeline/stage_def.ts";
import { WorkerPool } from "../worker/pool.ts";
import type { CommandEnv } from "./command.ts";
import { PIVOT_ROOT, type Session } from "./session.ts";
import { consoleSink, jsonSink } from "./sinks.ts";

/** Flags of a wave from the command line. */
export interface WaveFlags {
  /** Stages to run even if up to date. */
  readonly force: ReadonlySet<string>;
  /** Go on after a failure. */
  readonly keepGoing: boolean;
  /** Parallelism. */
  readonly jobs: number;
  /** Don't write locks, cache or state. */
  readonly noCommit: boolean;
  /** JSON Lines output. */
  readonly json: boolean;
}

/** A worker pool for a session's project. */
export function poolFor(session: Session): WorkerPool {
  const { project } = session.context;
  const nodeModules = join(project.root, "node_modules");
  return new WorkerPool({
    stagingRoot: join(project.tmpDir, `run-${Deno.pid}-${Date.now().toString(36)}`),
    codeAccess: async () => {
      const code = await session.code();
      return {
        read: [
          ...code.files,
          // Pivot's own API modules, which the pipeline imports (from a checkout).
          ...(PIVOT_ROOT.startsWith("/")
            ? [join(PIVOT_ROOT, "mod.ts"), join(PIVOT_ROOT, "lib")]
            : []),
          ...(isDirectory(nodeModules) ? [nodeModules] : []),
        ],
        importHosts: code.hosts,
      };
    },
    graceMs: 3_000,
  });
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/** The default parallelism: the config's, else the number of cores. */
export function defaultJobs(session: Session): number {
  return session.jobs ?? navigator.hardwareConcurrency ?? 2;
}

/** Run `stages` as one wave; resolves with the exit code. */
export async function runWave(
  session: Session,
  stages: readonly StageDef[],
  flags: WaveFlags,
  env: CommandEnv,
): Promise<number> {
  const pool = poolFor(session);
  const engine = new Engine(session.context, pool);
  engine.subscribe(flags.json ? jsonSink(env.output) : consoleSink(env.output));
  let summary: SummaryEvent;
  try {
    summary = await engine.runWave({
      stages,
      force: flags.force,
      keepGoing: flags.keepGoing,
      jobs: flags.jobs,
      noCommit: flags.noCommit,
      signal: env.signal,
    });
  } finally {
    await pool.close();
  }
  return exitCodeOf(summary, env.signal);
}

/** 130 when cancelled, 1 when a stage failed, else 0. */
export function exitCodeOf(summary: SummaryEvent, signal: AbortSignal): number {
  if (signal.aborted || summary.cancelled > 0) return 130;
  return summary.failed > 0 ? 1 : 0;
}
