/**
 * `deno task demo`: the quickstart pipeline end to end, through the real
 * `pivot` CLI, in a temporary copy of this folder.
 *
 * 1. `pivot init`, then `pivot repro` runs every stage;
 * 2. a second `pivot repro` runs nothing;
 * 3. editing a comment in a helper runs nothing;
 * 4. editing the tokenizer re-runs the stages that call it (and, as their
 *    outputs change, what is downstream); `status --explain` says why;
 * 5. deleting an out restores it from the cache.
 */

import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..");
const cli = join(repo, "cli.ts");

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.name === "demo.ts") continue;
    const source = join(from, entry.name);
    const dest = join(to, entry.name);
    if (entry.isDirectory) await copyTree(source, dest);
    else await Deno.copyFile(source, dest);
  }
}

const tty = Deno.stdout.isTerminal() && Deno.env.get("NO_COLOR") === undefined;
const bold = (text: string) => tty ? `\x1b[1m${text}\x1b[22m` : text;
const cyan = (text: string) => tty ? `\x1b[36m${text}\x1b[39m` : text;

async function pivot(cwd: string, ...args: string[]): Promise<void> {
  console.log(`\n${bold(`$ pivot ${args.join(" ")}`)}`);
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...args],
    cwd,
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (!status.success && !(args[0] === "status" && status.code === 1)) {
    throw new Error(`pivot ${args.join(" ")} exited with ${status.code}`);
  }
}

function step(text: string): void {
  console.log(`\n${cyan(`# ${text}`)}`);
}

const project = await Deno.makeTempDir({ prefix: "pivot-demo-" });
try {
  await copyTree(here, project);
  await Deno.writeTextFile(
    join(project, "deno.json"),
    JSON.stringify({ imports: { "jsr:@pivot/core": pathToFileURL(join(repo, "mod.ts")).href } }),
  );
  console.log(`Demo project: ${project}`);

  step("A new project: every stage runs.");
  await pivot(project, "init");
  await pivot(project, "repro");
  console.log(await Deno.readTextFile(join(project, "build/metrics.json")));

  step("Nothing changed: nothing runs.");
  await pivot(project, "repro");

  step("A comment in a helper changes nothing that runs.");
  const textTs = join(project, "lib/text.ts");
  const original = await Deno.readTextFile(textTs);
  await Deno.writeTextFile(textTs, "// Tokenizer for the reviews.\n" + original);
  await pivot(project, "repro");

  step("Change the tokenizer: its callers re-run; status --explain says why.");
  await Deno.writeTextFile(textTs, original.replace("word.length > 1", "word.length > 3"));
  await pivot(project, "status", "--explain", "featurize");
  await pivot(project, "repro");

  step("A deleted out comes back from the cache.");
  await Deno.remove(join(project, "build/model.json"));
  await pivot(project, "repro");

  step("The graph.");
  await pivot(project, "dag", "--stages");
  console.log("\nDemo finished.");
} finally {
  await Deno.remove(project, { recursive: true });
}
