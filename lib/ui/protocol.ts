/**
 * What the web UI's server and page say to each other: the JSON of its HTTP
 * API and of its server-sent events. Types only, with no imports, so that the
 * page (a browser program in `page/`) and the server check against the same
 * definitions. docs/ui.md describes the API.
 *
 * @module
 */

/**
 * The status a stage node shows (`data-status`): the SPEC §6 statuses of
 * `status` (`up-to-date`, `will-run`) and of a wave (`ran`, `restored`,
 * `failed`, `blocked`, `cancelled`; a `skipped` stage is `up-to-date`), plus
 * `running`, and `checking` until the first prediction is known.
 */
export type NodeStatus =
  | "checking"
  | "up-to-date"
  | "will-run"
  | "running"
  | "ran"
  | "restored"
  | "failed"
  | "blocked"
  | "cancelled";

/** A stage as a node of the graph: what does not change until the pipeline is reloaded. */
export interface StageNode {
  /** Full name (`train@small`, or `<pipeline>/<name>` for a stage included from another pipeline). */
  readonly name: string;
  /** For a matrix or registered variant: the name its variants share (`train`). */
  readonly group?: string;
  /** The variant (`small`), if any. */
  readonly variant?: string;
  /** The pipeline that defines it. */
  readonly pipeline: string;
  /** Direct upstream stages. */
  readonly upstream: readonly string[];
  /** Dep paths (directories end with `/`). */
  readonly deps: readonly string[];
  /** Out paths (directories end with `/`) and their kinds. */
  readonly outs: readonly { readonly path: string; readonly kind: string }[];
}

/** What changes about a stage while Pivot works. */
export interface StageState {
  /** What the node shows. */
  readonly status: NodeStatus;
  /** Why it will run (SPEC §6 reasons), from the latest prediction. */
  readonly reasons: readonly string[];
  /** When it started running (ms since the epoch), while `running`. */
  readonly started?: number;
  /** Part of the running wave, not finished yet. */
  readonly queued?: boolean;
  /** How long its last run in a wave took. */
  readonly duration_ms?: number;
  /** When that wave outcome came (ms since the epoch). */
  readonly finished?: number;
  /** The failure message, when `failed`; what it waited for, when `blocked`. */
  readonly error?: string;
}

/** The wave Pivot is running, or the last one. */
export interface WaveInfo {
  /** A wave is running. */
  readonly running: boolean;
  /** When it started (ms since the epoch). */
  readonly started?: number;
  /** Stages it considers. */
  readonly total: number;
  /** Stages it has finished with. */
  readonly done: number;
  /** Counts of the last finished wave (SPEC §6 summary), once one has finished. */
  readonly summary?: {
    readonly ran: number;
    readonly skipped: number;
    readonly restored: number;
    readonly failed: number;
    readonly blocked: number;
    readonly cancelled: number;
    readonly duration_ms: number;
  };
}

/** Everything the page shows of the pipeline, sent first on every event stream. */
export interface Snapshot {
  /** Project facts. */
  readonly project: {
    /** The name of the pipeline file's pipeline. */
    readonly name: string;
    /** Absolute root directory. */
    readonly root: string;
  };
  /** Pivot's version. */
  readonly version: string;
  /** `ui`: stages run when asked; `watch`: `repro --watch --ui`, changes run what they affect. */
  readonly mode: "ui" | "watch";
  /** Grows each time the pipeline is reloaded with a different graph. */
  readonly graphVersion: number;
  /** Stages in topological order. */
  readonly stages: readonly StageNode[];
  /** Each stage's state, by name. */
  readonly states: Readonly<Record<string, StageState>>;
  /** The current or last wave. */
  readonly wave: WaveInfo;
  /** Why the pipeline on disk could not be loaded (the previous one stays shown). */
  readonly problem?: string;
}

/** One line a stage printed. */
export interface LogLine {
  /** The stream. */
  readonly stream: "stdout" | "stderr";
  /** The text, without its newline. */
  readonly text: string;
}

/** A message of the event stream (`GET /api/events`), as the `data` of an SSE event. */
export type UiMessage =
  | { readonly type: "snapshot"; readonly snapshot: Snapshot }
  | { readonly type: "states"; readonly states: Readonly<Record<string, StageState>> }
  | { readonly type: "wave"; readonly wave: WaveInfo }
  | {
    readonly type: "log";
    readonly lines: readonly (LogLine & { readonly stage: string })[];
  }
  | { readonly type: "problem"; readonly problem: string | null }
  | { readonly type: "warning"; readonly message: string };

/** A message with its envelope: a sequence number and when the server sent it. */
export type UiEnvelope = UiMessage & {
  /** Increases by one per message of this server. */
  readonly seq: number;
  /** When the server emitted it (ms since the epoch), for latency measurements. */
  readonly t: number;
};

/** A changed code manifest key (SPEC §3), as `status --explain` shows it. */
export interface CodeChangeView {
  readonly key: string;
  readonly old: string | null;
  readonly new: string | null;
  /** Project-relative file, and line, of the code now (or before, if gone). */
  readonly file: string | null;
  readonly line: number | null;
}

/** Why a stage will run: SPEC §6 `status --json` entry. */
export interface Explanation {
  readonly status: "up-to-date" | "will-run";
  readonly reasons: readonly string[];
  readonly changes: {
    readonly code: readonly CodeChangeView[];
    readonly params: readonly {
      readonly key: string;
      readonly old: unknown;
      readonly new: unknown;
    }[];
    readonly deps: readonly {
      readonly path: string;
      readonly old: string | null;
      readonly new: string | null;
    }[];
  };
  /** Outs that will be restored from the cache. */
  readonly restore: readonly string[];
  /** The outs for these inputs are in the run cache: restored, not run. */
  readonly runCache: boolean;
}

/** One past run of a stage. */
export interface RunRecord {
  /** When it finished (ms since the epoch). */
  readonly finished: number;
  /** How it ended (SPEC §6 wave status). */
  readonly status: string;
  /** How long it took. */
  readonly duration_ms: number;
  /** The command of the run it was part of (`pivot repro train`), from the run history. */
  readonly command?: string;
  /** That run's id (`pivot show ID`). */
  readonly run?: string;
}

/** Everything the stage panel shows: `GET /api/stage?name=NAME`. */
export interface StageDetail {
  /** The node. */
  readonly node: StageNode;
  /** Its state now. */
  readonly state: StageState;
  /** Where the stage is declared (project-relative; line 0: unknown), when known. */
  readonly definedAt?: { readonly file: string; readonly line: number };
  /** Where its run function is (the `self:run` code key), when known. */
  readonly runAt?: { readonly file: string; readonly line: number };
  /** The explanation of the latest prediction; absent while checking. */
  readonly explain?: Explanation;
  /** Param values (defaults, overrides and `params.yaml` applied). */
  readonly params: Readonly<Record<string, unknown>>;
  /** Deps with their hash now (null: missing) and the stage producing them. */
  readonly deps: readonly {
    readonly path: string;
    readonly hash: string | null;
    readonly producer?: string;
  }[];
  /** Outs with their kind and their hash in the lock file (null: never recorded). */
  readonly outs: readonly {
    readonly path: string;
    readonly kind: string;
    readonly cache: boolean;
    readonly hash: string | null;
  }[];
  /** Mutex groups. */
  readonly mutex: readonly string[];
  /**
   * The log of its last run seen by this server (null: none): the lines,
   * how many earlier lines were dropped to bound memory, and whether it is
   * still running.
   */
  readonly log: {
    readonly lines: readonly LogLine[];
    readonly dropped: number;
    readonly running: boolean;
    /** When that run ended, for a log recorded by another process (or before this server). */
    readonly finished?: number;
    /** How it ended, likewise. */
    readonly status?: string;
  } | null;
  /** Recent runs, newest first. */
  readonly runs: readonly RunRecord[];
  /**
   * The event sequence number this detail is current at: log lines of later
   * `log` messages are not in {@link StageDetail.log}.
   */
  readonly seq: number;
}

/** One metric in the Metrics tab: a dotted key of a metric file, then and now. */
export interface MetricRow {
  /** The metric file (project-relative). */
  readonly path: string;
  /** The dotted key (`train.loss`). */
  readonly key: string;
  /** The value at the base revision; absent when the key was not there. */
  readonly old?: unknown;
  /** The value in the workspace; absent when the key is gone. */
  readonly new?: unknown;
  /** `new − old` when both are numbers, else null. */
  readonly change: number | null;
  /** The value differs from the base revision's (or is new, or gone). */
  readonly changed: boolean;
}

/** `GET /api/metrics`: every metric in the workspace beside its value at {@link MetricsView.base}. */
export interface MetricsView {
  /** The revision compared with (`HEAD`). */
  readonly base: string;
  /** Each key of each metric file, files in `pivot metrics diff --all` order. */
  readonly rows: readonly MetricRow[];
  /** The metric files, with the stage making each and why one side has no values. */
  readonly files: readonly {
    readonly path: string;
    readonly stage?: string;
    /** Why there are no values in the workspace (e.g. not run yet). */
    readonly missing?: string;
    /** Why there are none at the base revision. */
    readonly baseMissing?: string;
  }[];
  /** Why the base revision could not be read at all (no git repository, no commit). */
  readonly baseProblem?: string;
  /** Why the metrics could not be read (a metric file that does not parse). */
  readonly problem?: string;
}

/** `POST /api/run`: run stages with their stale upstream (all when `stages` is absent). */
export interface RunRequest {
  /** Stage names (exact). */
  readonly stages?: readonly string[];
  /** Run the named stages even when up to date (their upstream only when stale). */
  readonly force?: boolean;
}
