/**
 * The shape of a CLI command and the parsing of its arguments (as
 * `node:util`'s `parseArgs` parses them, so options behave as in any POSIX
 * tool; an ordinary command line is parsed here without loading it, see
 * {@link parseSimpleArgs}).
 *
 * @module
 */

import { PivotError } from "../errors.ts";
import { didYouMean } from "../suggest.ts";
import type { Output } from "./output.ts";
import type { OutsSource } from "../outputs/outs_at_revision.ts";

const WORKSPACE: OutsSource = { kind: "workspace" };

/** One option of a command. */
export interface OptionSpec {
  /** `boolean` flag or `string` value. */
  readonly type: "boolean" | "string";
  /** One-letter alias. */
  readonly short?: string;
  /** May be given several times (collected into an array). */
  readonly multiple?: boolean;
  /** Shown in `--help`, e.g. `-j, --jobs N  stages at once`. */
  readonly help: string;
  /** Placeholder for the value in `--help`. */
  readonly value?: string;
}

/** What a command receives. */
export interface CommandEnv {
  /** Directory the command runs in (after `--cwd`). */
  readonly cwd: string;
  /** Where to write. */
  readonly output: Output;
  /** Fires on Ctrl-C. */
  readonly signal: AbortSignal;
  /** The arguments after `pivot`, as given (recorded in the run history). */
  readonly args?: readonly string[];
}

/** Parsed options and positionals. */
export interface ParsedArgs {
  /** Option values by long name. */
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>;
  /** Positional arguments. */
  readonly positionals: readonly string[];
}

/** A `pivot` command. */
export interface Command {
  /** Name (`repro`). */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Usage line after `pivot `. */
  readonly usage: string;
  /** Its options. */
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Left out of `pivot --help` and completions (an internal command). */
  readonly hidden?: boolean;
  /** Run it; resolves with the exit code. */
  run(args: ParsedArgs, env: CommandEnv): Promise<number>;
}

/** Options every command takes. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  verbose: { type: "boolean", short: "v", help: "more detail; stack traces on errors" },
  quiet: { type: "boolean", short: "q", help: "errors only" },
  cwd: { type: "string", value: "DIR", help: "run as if started in DIR" },
  help: { type: "boolean", short: "h", help: "show help" },
  version: { type: "boolean", short: "V", help: "show the version" },
};

/** Parse `args` for `command` (its options plus the global ones). */
export async function parseCommandArgs(
  args: readonly string[],
  options: Readonly<Record<string, OptionSpec>>,
  commandName: string | undefined,
): Promise<ParsedArgs> {
  const all = { ...GLOBAL_OPTIONS, ...options };
  const simple = parseSimpleArgs(args, all);
  if (simple !== undefined) return simple;
  // Loaded only here: the first `node:` import costs a process its Node
  // layer, ~10 ms of CPU that an ordinary command line does not need.
  const { parseArgs } = await import("node:util");
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: Object.fromEntries(
        Object.entries(all).map(([name, spec]) => [name, {
          type: spec.type,
          ...(spec.short ? { short: spec.short } : {}),
          ...(spec.multiple ? { multiple: true } : {}),
        }]),
      ),
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedArgs["values"], positionals };
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional.*$/s, "");
    const lower = `${message.charAt(0).toLowerCase()}${message.slice(1)}`;
    // A mistyped long option (`--dryrun`, `--keep_going`): name the one meant.
    const unknown = /^unknown option '--([^'=]+)'/.exec(lower)?.[1];
    const suggestion = unknown === undefined
      ? ""
      : didYouMean(`--${unknown}`, Object.keys(all).map((name) => `--${name}`));
    throw new PivotError(
      suggestion !== ""
        ? `${commandName ?? "pivot"}: ${lower}${suggestion}`
        : commandName === undefined
        ? `${lower}: see 'pivot --help'`
        : `${commandName}: ${lower}: see 'pivot ${commandName} --help'`,
    );
  }
}

/**
 * `args` parsed exactly as `node:util`'s `parseArgs` (strict, positionals
 * allowed) parses them, when they hold only what most command lines hold:
 * positionals, known long options (`--dry-run`, `--jobs=2`, `--jobs 2`) and
 * known one-letter ones (`-v`, `-j 2`). Anything else (`--`, a lone `-`,
 * grouped or attached one-letter options, an unknown option, a value given
 * to a flag, a missing value or one that starts with `-`) gives undefined:
 * `parseArgs` then decides, and words the error. Like `parseArgs`, values
 * are in an object without a prototype, in the order given.
 * (`tests/cli/parse_args_test.ts` compares the two.)
 *
 * @example
 * ```ts
 * import { parseSimpleArgs } from "./command.ts";
 *
 * const options = { jobs: { type: "string", short: "j", help: "" } } as const;
 * parseSimpleArgs(["train", "-j", "2"], options); // { values: { jobs: "2" }, positionals: ["train"] }
 * parseSimpleArgs(["--", "-x"], options); // undefined
 * ```
 */
export function parseSimpleArgs(
  args: readonly string[],
  options: Readonly<Record<string, OptionSpec>>,
): ParsedArgs | undefined {
  const values: Record<string, string | boolean | (string | boolean)[]> = Object.create(null);
  const positionals: string[] = [];
  const set = (name: string, value: string | boolean) => {
    if (!options[name].multiple) values[name] = value;
    else ((values[name] ??= []) as (string | boolean)[]).push(value);
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("-")) {
      positionals.push(arg);
      continue;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith("--") && arg.length > 2) {
      const equals = arg.indexOf("=");
      name = equals === -1 ? arg.slice(2) : arg.slice(2, equals);
      inline = equals === -1 ? undefined : arg.slice(equals + 1);
      if (!Object.hasOwn(options, name)) return undefined;
    } else if (arg.length === 2 && arg !== "--") {
      name = Object.keys(options).find((long) => options[long].short === arg[1]);
      if (name === undefined) return undefined;
    } else {
      return undefined; // "-", "--", "-abc"
    }
    if (options[name].type === "boolean") {
      if (inline !== undefined) return undefined;
      set(name, true);
    } else if (inline !== undefined) {
      set(name, inline);
    } else {
      const value = args[i + 1];
      if (value === undefined || value.startsWith("-")) return undefined;
      set(name, value);
      i++;
    }
  }
  return { values: values as ParsedArgs["values"], positionals };
}

/**
 * Throws a usage error for a command that takes no positional arguments
 * when it got some: `pivot gc all` must not run a plain `gc`.
 *
 * @example
 * ```ts ignore
 * noPositionals("gc", ["all"]); // error: gc: unexpected argument 'all': see 'pivot gc --help'
 * ```
 */
export function noPositionals(commandName: string, positionals: readonly string[]): void {
  if (positionals.length === 0) return;
  throw new PivotError(
    `${commandName}: unexpected argument '${positionals[0]}': see 'pivot ${commandName} --help'`,
  );
}

/** Help text of a command. */
export function commandHelp(command: Command): string {
  const rows = Object.entries({ ...command.options, ...GLOBAL_OPTIONS }).map(([name, spec]) => {
    const flags = `${spec.short ? `-${spec.short}, ` : "    "}--${name}${
      spec.value ? ` ${spec.value}` : ""
    }`;
    return [flags, spec.help] as const;
  });
  const width = Math.max(...rows.map(([flags]) => flags.length)) + 2;
  return [
    `pivot ${command.usage}`,
    "",
    command.summary,
    "",
    "Options:",
    ...rows.map(([flags, help]) => `  ${flags.padEnd(width)}${help}`),
  ].join("\n");
}

/** An integer option value (from `min`, up to `max` when given), or a usage error naming the option. */
export function intOption(
  value: unknown,
  name: string,
  commandName: string,
  min = 1,
  max?: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || (max !== undefined && n > max)) {
    const range = max === undefined ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new PivotError(`${commandName}: --${name} expects an integer ${range}, got '${value}'`);
  }
  return n;
}

/**
 * The usage error of a command with subcommands (`pivot metrics show|diff`)
 * given none, or one it does not have.
 *
 * @example
 * ```ts
 * subcommandError("metrics", "frob", "metrics show|diff [TARGETS...]").message;
 * // "metrics: unknown subcommand 'frob': use 'pivot metrics show|diff [TARGETS...]'"
 * ```
 */
export function subcommandError(
  commandName: string,
  action: string | undefined,
  usage: string,
): PivotError {
  const what = action === undefined ? "missing subcommand" : `unknown subcommand '${action}'`;
  return new PivotError(`${commandName}: ${what}: use 'pivot ${usage}'`);
}

/**
 * The two sides a `diff` subcommand compares, from its `--rev` values: none,
 * HEAD and the workspace; one, REV and the workspace; two, A and B.
 *
 * @throws {PivotError} when `--rev` was given more than twice.
 *
 * @example
 * ```ts
 * diffSources("metrics diff", ["v1"]); // [{ kind: "revision", rev: "v1" }, { kind: "workspace" }]
 * ```
 */
export function diffSources(
  commandName: string,
  revs: readonly string[],
): [OutsSource, OutsSource] {
  if (revs.length > 2) {
    throw new PivotError(`${commandName}: --rev given ${revs.length} times: give at most two`);
  }
  const [a = "HEAD", b] = revs;
  return [{ kind: "revision", rev: a }, b === undefined ? WORKSPACE : { kind: "revision", rev: b }];
}
