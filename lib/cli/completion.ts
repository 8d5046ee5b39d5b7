/**
 * Shell completion scripts for bash, zsh and fish, generated from the
 * command table: commands, their flags (with their help), subcommands
 * (`params show|diff`) and, where a command takes stages, the stage names of
 * the project in the current directory, from `pivot __complete stages`
 * (which reads a cache, so Tab does not load the pipeline; see
 * `stage_names.ts`).
 *
 * What a positional argument completes to is read from the command's usage
 * line: `a|b` lists choices, `COMMAND` the commands, `STAGES` stage names,
 * `TARGETS` stage names and files, `PATHS` files; a flag whose value is `DIR`
 * completes directories, `FILE`/`PATH` files, any other value nothing.
 *
 * @module
 */

import type { Command, OptionSpec } from "./command.ts";
import { GLOBAL_OPTIONS } from "./command.ts";

/** The shells with a completion script. */
export const SHELLS = ["bash", "zsh", "fish"] as const;
/** A shell with a completion script. */
export type Shell = typeof SHELLS[number];

type ValueKind = "dir" | "file" | "value";

interface FlagSpec {
  readonly long: string;
  readonly short: string | undefined;
  readonly help: string;
  /** What its value completes to; undefined for a boolean flag. */
  readonly value: ValueKind | undefined;
}

type Positional =
  | { readonly kind: "choices"; readonly choices: readonly string[] }
  | { readonly kind: "stages" | "targets" | "paths" | "none" };

interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly flags: readonly FlagSpec[];
  /** One per position; the last repeats. */
  readonly positionals: readonly Positional[];
}

function flagsOf(options: Readonly<Record<string, OptionSpec>>): FlagSpec[] {
  return Object.entries(options).map(([long, spec]) => ({
    long,
    short: spec.short,
    help: spec.help,
    value: spec.type === "boolean"
      ? undefined
      : spec.value === "DIR"
      ? "dir"
      : spec.value === "FILE" || spec.value === "PATH"
      ? "file"
      : "value",
  }));
}

/**
 * The positional arguments a usage line (`params show|diff [STAGES...] [options]`) describes;
 * `COMMAND` is one of `commandNames`.
 */
function positionalsOf(usage: string, commandNames: readonly string[]): Positional[] {
  const words = usage.split(/\s+/).slice(1);
  const result: Positional[] = [];
  for (const word of words) {
    if (word.startsWith("(") || word === "[options]") break;
    const bare = word.replace(/[[\]]|\.\.\./g, "");
    if (bare.includes("|")) result.push({ kind: "choices", choices: bare.split("|") });
    else if (bare === "COMMAND") result.push({ kind: "choices", choices: commandNames });
    else if (/^STAGES?$/.test(bare)) result.push({ kind: "stages" });
    else if (/^TARGETS?$/.test(bare)) result.push({ kind: "targets" });
    else if (/^(PATHS?|FILES?|DIRS?)$/.test(bare)) result.push({ kind: "paths" });
    else result.push({ kind: "none" });
  }
  return result;
}

function specOf(commands: readonly Command[]): { commands: CommandSpec[]; global: FlagSpec[] } {
  const shown = commands.filter((c) => !c.hidden);
  const names = shown.map((c) => c.name);
  return {
    commands: shown.map((command) => ({
      name: command.name,
      summary: command.summary,
      flags: flagsOf(command.options),
      positionals: positionalsOf(command.usage, names),
    })),
    global: flagsOf(GLOBAL_OPTIONS),
  };
}

/** The completion script for `shell`, for `commands`. */
export function completionScript(shell: Shell, commands: readonly Command[]): string {
  const spec = specOf(commands);
  switch (shell) {
    case "bash":
      return bashScript(spec.commands, spec.global);
    case "zsh":
      return zshScript(spec.commands, spec.global);
    case "fish":
      return fishScript(spec.commands, spec.global);
  }
}

function flagWords(flag: FlagSpec): string[] {
  return [...(flag.short ? [`-${flag.short}`] : []), `--${flag.long}`];
}

/** Single-quoted for a POSIX shell (and fish). */
function quote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** The flags that take a value, as `case` patterns, by command ("" for global). */
function valuedPatterns(flags: readonly FlagSpec[], kind: ValueKind): string {
  return flags.filter((f) => f.value === kind).flatMap(flagWords).join("|");
}

/** A shell `case` over the command name (shared by bash and zsh). */
function caseOverCommands(
  commands: readonly CommandSpec[],
  body: (command: CommandSpec) => string,
): string {
  return commands.map((command) => `    ${command.name}) ${body(command)} ;;`).join("\n");
}

/** A `case` over `cmd:position` giving what a positional completes to (bash and zsh). */
function positionalCase(commands: readonly CommandSpec[]): string {
  const lines: string[] = [];
  for (const command of commands) {
    command.positionals.forEach((positional, index) => {
      const last = index === command.positionals.length - 1;
      const repeats = positional.kind !== "choices" && positional.kind !== "none";
      const pattern = last && repeats ? `${command.name}:*` : `${command.name}:${index}`;
      const value = positional.kind === "choices"
        ? `choices ${positional.choices.join(" ")}`
        : positional.kind;
      // The last pattern matches every later position too (STAGES...).
      lines.push(`    ${pattern}) echo ${value} ;;`);
    });
  }
  return lines.join("\n");
}

/** Shell functions shared by the bash and zsh scripts (both run them). */
function sharedFunctions(commands: readonly CommandSpec[], global: readonly FlagSpec[]): string {
  const kinds: ValueKind[] = ["dir", "file", "value"];
  const globalCases = kinds.map((kind) => {
    const patterns = valuedPatterns(global, kind);
    return patterns ? `    ${patterns}) echo ${kind}; return ;;\n` : "";
  }).join("");
  const commandCases = commands.flatMap((command) =>
    kinds.map((kind) => {
      const patterns = valuedPatterns(command.flags, kind);
      if (!patterns) return "";
      const prefixed = patterns.split("|").map((p) => `${command.name}:${p}`).join("|");
      return `    ${prefixed}) echo ${kind} ;;\n`;
    })
  ).join("");
  return `# What the value of flag $2 of command $1 completes to: dir, file, value, or nothing.
_pivot_value_kind() {
  case "$2" in
${globalCases}  esac
  case "$1:$2" in
${commandCases}  esac
}

# Flags of command $1, one per line.
_pivot_flags() {
  case "$1" in
${
    caseOverCommands(
      commands.filter((c) => c.flags.length > 0),
      (c) => `printf '%s\\n' ${c.flags.flatMap(flagWords).join(" ")}`,
    )
  }
  esac
  printf '%s\\n' ${global.flatMap(flagWords).join(" ")}
}

# What positional argument number $2 (from 0) of command $1 completes to.
_pivot_positional() {
  case "$1:$2" in
${positionalCase(commands)}
  esac
}

# The stage names of the project here (from a cache: no pipeline load).
_pivot_stages() {
  command pivot __complete stages </dev/null 2>/dev/null
}
`;
}

/** The loop that finds the command word and the current positional index (bash and zsh). */
function scanWords(first: string, words: string, current: string): string {
  return `  local cmd="" npos=0 i word skip=0
  for ((i = ${first}; i < ${current}; i++)); do
    word=\${${words}[i]}
    if ((skip)); then skip=0; continue; fi
    case "$word" in
      -*) [[ -n $(_pivot_value_kind "$cmd" "$word") ]] && skip=1; continue ;;
    esac
    if [[ -z $cmd ]]; then cmd=$word; else ((npos++)); fi
  done`;
}

function bashScript(commands: readonly CommandSpec[], global: readonly FlagSpec[]): string {
  return `# bash completion for pivot (generated by 'pivot completion bash'). Load it with
#   source <(pivot completion bash)
# or save it as ~/.local/share/bash-completion/completions/pivot.

${sharedFunctions(commands, global)}
_pivot() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
${scanWords("1", "COMP_WORDS", "COMP_CWORD")}
  COMPREPLY=()
  if ((COMP_CWORD > 1)); then
    case $(_pivot_value_kind "$cmd" "$prev") in
      dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
      file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
      value) return ;;
    esac
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_pivot_flags "$cmd")" -- "$cur"))
  elif [[ -z $cmd ]]; then
    COMPREPLY=($(compgen -W ${quote(commands.map((c) => c.name).join(" "))} -- "$cur"))
  else
    local what
    what=$(_pivot_positional "$cmd" "$npos")
    case $what in
      choices*) COMPREPLY=($(compgen -W "\${what#choices }" -- "$cur")) ;;
      stages) COMPREPLY=($(compgen -W "$(_pivot_stages)" -- "$cur")) ;;
      targets) COMPREPLY=($(compgen -W "$(_pivot_stages)" -- "$cur") $(compgen -f -- "$cur")) ;;
      paths) COMPREPLY=($(compgen -f -- "$cur")) ;;
    esac
  fi
}
complete -F _pivot pivot
`;
}

function zshScript(commands: readonly CommandSpec[], global: readonly FlagSpec[]): string {
  const described = (flags: readonly FlagSpec[]) =>
    flags.flatMap((flag) =>
      flagWords(flag).map((word) => quote(`${word}:${flag.help.replaceAll(":", "\\:")}`))
    );
  const flagCases = caseOverCommands(
    commands,
    (command) => `opts=(${described(command.flags).join(" ")})`,
  );
  return `#compdef pivot
# zsh completion for pivot (generated by 'pivot completion zsh'). Load it with
#   source <(pivot completion zsh)      (after compinit)
# or save it as _pivot in a directory of your $fpath.

${sharedFunctions(commands, global)}
_pivot() {
  local cur=\${words[CURRENT]} prev=\${words[CURRENT-1]}
${scanWords("2", "words", "CURRENT")}
  if ((CURRENT > 2)); then
    case $(_pivot_value_kind "$cmd" "$prev") in
      dir) _path_files -/; return ;;
      file) _files; return ;;
      value) return 1 ;;
    esac
  fi
  if [[ $cur == -* ]]; then
    local -a opts
    case "$cmd" in
${flagCases}
    esac
    opts+=(${described(global).join(" ")})
    _describe -t options 'option' opts
  elif [[ -z $cmd ]]; then
    local -a cmds
    cmds=(${commands.map((c) => quote(`${c.name}:${c.summary.replaceAll(":", "\\:")}`)).join(" ")})
    _describe -t commands 'pivot command' cmds
  else
    local what
    what=$(_pivot_positional "$cmd" "$npos")
    case $what in
      choices*) compadd -- \${=what#choices } ;;
      stages) compadd -- \${(f)"$(_pivot_stages)"} ;;
      targets) compadd -- \${(f)"$(_pivot_stages)"}; _files ;;
      paths) _files ;;
    esac
  fi
}

if (( $+functions[compdef] )); then compdef _pivot pivot; fi
# Autoloaded from $fpath, this file is the completion itself.
if [[ $funcstack[1] == _pivot ]]; then _pivot "$@"; fi
`;
}

function fishScript(commands: readonly CommandSpec[], global: readonly FlagSpec[]): string {
  const valued = [...global, ...commands.flatMap((c) => c.flags)]
    .filter((f) => f.value !== undefined).flatMap(flagWords);
  const lines: string[] = [
    `# fish completion for pivot (generated by 'pivot completion fish'). Load it with`,
    `#   pivot completion fish | source`,
    `# or save it as ~/.config/fish/completions/pivot.fish.`,
    ``,
    `# The command word and positional arguments typed so far, one per line.`,
    `function __pivot_args`,
    `    set -l tokens (commandline -opc)`,
    `    set -e tokens[1]`,
    `    set -l skip 0`,
    `    for token in $tokens`,
    `        if test $skip = 1`,
    `            set skip 0`,
    `            continue`,
    `        end`,
    `        switch $token`,
    `            case ${valued.map(quote).join(" ")}`,
    `                set skip 1`,
    `            case '-*'`,
    `            case '*'`,
    `                echo $token`,
    `        end`,
    `    end`,
    `end`,
    ``,
    `# True when no command is typed yet.`,
    `function __pivot_no_command`,
    `    test (count (__pivot_args)) -eq 0`,
    `end`,
    ``,
    `# True when the command is $argv[1] and, with $argv[2], as many positionals are typed.`,
    `function __pivot_at`,
    `    set -l args (__pivot_args)`,
    `    test (count $args) -ge 1; and test "$args[1]" = $argv[1]; or return 1`,
    `    test (count $argv) -lt 2; or test (math (count $args) - 1) -eq $argv[2]`,
    `end`,
    ``,
    `# True when the command is $argv[1] and at least $argv[2] positionals are typed.`,
    `function __pivot_at_least`,
    `    set -l args (__pivot_args)`,
    `    test (count $args) -ge 1; and test "$args[1]" = $argv[1]; or return 1`,
    `    test (math (count $args) - 1) -ge $argv[2]`,
    `end`,
    ``,
    `# The stage names of the project here (from a cache: no pipeline load).`,
    `function __pivot_stages`,
    `    command pivot __complete stages </dev/null 2>/dev/null`,
    `end`,
    ``,
    `complete -c pivot -f`,
  ];
  const flagLine = (condition: string, flag: FlagSpec) => {
    const parts = [`complete -c pivot`];
    if (condition) parts.push(`-n ${quote(condition)}`);
    if (flag.short) parts.push(`-s ${flag.short}`);
    parts.push(`-l ${flag.long}`);
    if (flag.value === "dir") parts.push(`-x -a '(__fish_complete_directories)'`);
    else if (flag.value === "file") parts.push(`-r -F`);
    else if (flag.value === "value") parts.push(`-x`);
    parts.push(`-d ${quote(flag.help)}`);
    return parts.join(" ");
  };
  for (const flag of global) lines.push(flagLine("", flag));
  for (const command of commands) {
    lines.push(
      `complete -c pivot -n __pivot_no_command -a ${command.name} -d ${quote(command.summary)}`,
    );
  }
  for (const command of commands) {
    for (const flag of command.flags) lines.push(flagLine(`__pivot_at ${command.name}`, flag));
    command.positionals.forEach((positional, index) => {
      const last = index === command.positionals.length - 1;
      const repeats = positional.kind !== "choices" && positional.kind !== "none";
      const condition = last && repeats
        ? `__pivot_at_least ${command.name} ${index}`
        : `__pivot_at ${command.name} ${index}`;
      const n = `-n ${quote(condition)}`;
      if (positional.kind === "choices") {
        lines.push(`complete -c pivot ${n} -a ${quote(positional.choices.join(" "))}`);
      } else if (positional.kind === "stages") {
        lines.push(`complete -c pivot ${n} -a '(__pivot_stages)'`);
      } else if (positional.kind === "targets") {
        lines.push(`complete -c pivot ${n} -F -a '(__pivot_stages)'`);
      } else if (positional.kind === "paths") {
        lines.push(`complete -c pivot ${n} -F`);
      }
    });
  }
  return lines.join("\n") + "\n";
}
