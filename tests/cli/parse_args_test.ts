/**
 * `parseSimpleArgs` (lib/cli/command.ts) parses a command line exactly as
 * `node:util`'s `parseArgs` does, or leaves it to `parseArgs`: every command
 * line made of the pieces below is compared, errors included (a line
 * `parseArgs` refuses must never be accepted by the simple parser).
 */

import { parseArgs } from "node:util";
import { type OptionSpec, parseCommandArgs, parseSimpleArgs } from "../../lib/cli/command.ts";
import { assert, assertEquals, assertPivotError } from "../_assert.ts";
import { test } from "../_harness.ts";

const OPTIONS: Record<string, OptionSpec> = {
  verbose: { type: "boolean", short: "v", help: "" },
  quiet: { type: "boolean", short: "q", help: "" },
  cwd: { type: "string", help: "" },
  jobs: { type: "string", short: "j", help: "" },
  "dry-run": { type: "boolean", help: "" },
  set: { type: "string", short: "S", multiple: true, help: "" },
  tag: { type: "boolean", multiple: true, help: "" },
};

const PIECES = [
  "train",
  "-",
  "--",
  "-v",
  "-q",
  "-vq",
  "-x",
  "-j",
  "-j2",
  "2",
  "-1",
  "--verbose",
  "--verbose=1",
  "--cwd",
  "--cwd=",
  "--cwd=a=b",
  "--cwd=-x",
  "--jobs",
  "--jobs=3",
  "--dry-run",
  "--dryrun",
  "--set",
  "--set=a=1",
  "-S",
  "--tag",
  "--tag=x",
  "--constructor",
  "--__proto__",
  "dir with space",
];

/** What `parseArgs` gives for `args`, as plain data, or the error's message. */
function byNode(args: string[]): unknown {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: Object.fromEntries(
        Object.entries(OPTIONS).map(([name, spec]) => [name, {
          type: spec.type,
          ...(spec.short ? { short: spec.short } : {}),
          ...(spec.multiple ? { multiple: true } : {}),
        }]),
      ),
      allowPositionals: true,
      strict: true,
    });
    return { values: { ...values }, positionals };
  } catch (error) {
    return `error: ${(error as Error).message}`;
  }
}

test("parseSimpleArgs: the same as parseArgs, or undefined", () => {
  let simple = 0;
  let total = 0;
  for (const a of PIECES) {
    for (const b of PIECES) {
      for (const c of PIECES) {
        for (const args of [[a], [a, b], [a, b, c]]) {
          total++;
          const mine = parseSimpleArgs(args, OPTIONS);
          if (mine === undefined) continue;
          simple++;
          assertEquals(
            { values: { ...mine.values }, positionals: mine.positionals },
            byNode(args),
            JSON.stringify(args),
          );
          assertEquals(Object.getPrototypeOf(mine.values), null);
        }
      }
    }
  }
  // Most lines are ordinary ones: the simple parser must answer many.
  assert(simple > total / 4, `only ${simple} of ${total} parsed without parseArgs`);
});

test("parseSimpleArgs: ordinary command lines need no parseArgs", () => {
  for (
    const args of [
      [],
      ["train"],
      ["-v", "train", "--jobs", "2", "--dry-run"],
      ["--cwd", "sub", "-j", "4", "a", "b"],
      ["--set=a=1", "-S", "b=2", "--tag", "--tag"],
    ]
  ) {
    assert(parseSimpleArgs(args, OPTIONS) !== undefined, JSON.stringify(args));
  }
});

test("parseCommandArgs: what parseSimpleArgs leaves gets parseArgs' answer and message", async () => {
  const parsed = await parseCommandArgs(["-vq", "--", "-x"], OPTIONS, "repro");
  assertEquals({ ...parsed.values }, { verbose: true, quiet: true });
  assertEquals(parsed.positionals, ["-x"]);
  await assertPivotError(
    () => parseCommandArgs(["--dryrun"], OPTIONS, "repro"),
    /^repro: unknown option '--dryrun'.*--dry-run/,
  );
  await assertPivotError(
    () => parseCommandArgs(["--jobs"], OPTIONS, "repro"),
    /^repro: option '-j, --jobs <value>' argument missing: see 'pivot repro --help'$/,
  );
});
