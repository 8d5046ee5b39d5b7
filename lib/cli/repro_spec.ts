/**
 * What `repro` is called and says of itself, and the options a no-op's
 * record may answer with (the wave's options `run` and `ui` share too): shared by the full command
 * (lib/cli/commands/repro.ts) and the record's answer
 * (lib/cli/noop_answer.ts), which must not import the full command's
 * modules yet must be `repro` to the user (its help, its errors).
 *
 * @module
 */

import type { OptionSpec } from "./command.ts";

/** `repro`'s name, summary and usage. */
export const REPRO_HEADING = {
  name: "repro",
  summary: "Run stages (default: all) and everything upstream of them that is stale.",
  usage: "repro [STAGES...] [options]",
} as const;

/** `-j N`: how many stages run at once (`repro`, `run`, `ui`). */
export const JOBS_OPTION = {
  type: "string",
  short: "j",
  value: "N",
  help: "stages to run at once (default: cores)",
} as const satisfies OptionSpec;

/** `-k`: go on past a failure with what does not depend on it (`repro`, `ui`). */
export const KEEP_GOING_OPTION = {
  type: "boolean",
  short: "k",
  help: "after a failure, run every stage that does not depend on it",
} as const satisfies OptionSpec;

/** `--json`: a wave's events as JSON Lines (`repro`, `run`). */
export const JSON_EVENTS_OPTION = {
  type: "boolean",
  help: "JSON Lines events on stdout",
} as const satisfies OptionSpec;

/** `repro`'s options that a no-op's record answers with (lib/cli/noop_record.ts, `answersCommandLine`). */
export const REPRO_RECORD_OPTIONS = {
  "keep-going": KEEP_GOING_OPTION,
  jobs: JOBS_OPTION,
  json: JSON_EVENTS_OPTION,
} as const satisfies Readonly<Record<string, OptionSpec>>;
