/**
 * The `--cwd DIR` global option, read before the command line is parsed: the
 * launcher needs it to find the user's `deno.json`, and the CLI to find the
 * project when a command could not even start.
 *
 * @module
 */

/**
 * The `--cwd` value in `args` (`--cwd DIR` or `--cwd=DIR`, before any `--`),
 * if any.
 *
 * @example
 * ```ts
 * cwdOption(["status", "--cwd", "sub"]); // "sub"
 * ```
 */
export function cwdOption(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--cwd") return args[i + 1];
    if (args[i].startsWith("--cwd=")) return args[i].slice("--cwd=".length);
    if (args[i] === "--") break;
  }
  return undefined;
}
