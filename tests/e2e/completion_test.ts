/**
 * Shell completion, in real shells: bash (the script sourced, its function
 * called as bash's completion does), zsh (an interactive shell on a
 * pseudo-terminal, driven with Tab through zsh's own zpty module) and fish
 * (`complete -C`, fish's own completion engine). Each finds the real `pivot`
 * on PATH. `.ci/run` installs zsh and fish.
 */

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { output, test } from "../_harness.ts";
import { CLI, runPivot, tempDir, TempProject } from "../_project.ts";

// The pipeline notes each load in loaded.marker, so the tests can tell
// whether completion loaded it (in a stage worker the write is denied).
const pipeline = (stages: string[]) =>
  `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
try { Deno.writeTextFileSync(new URL("./loaded.marker", import.meta.url), "x"); } catch { /* worker */ }
export const pipeline = new Pipeline("completion");
${
    stages.map((name) =>
      `pipeline.stage({
  name: "${name}",
  deps: { d: dep("data.txt", loaders.text()) },
  outs: { o: out("out/${name}.txt", loaders.text()) },
  run: ({ d }) => ({ o: d }),
});`
    ).join("\n")
  }
`;

/** A project, and a bin directory whose `pivot` runs this checkout's CLI. */
async function setup(): Promise<{ project: TempProject; path: string; script: string }> {
  const project = await TempProject.create({
    "pipeline.ts": pipeline(["prepare", "train", "train_eval"]),
    "data.txt": "x",
  });
  await project.write(
    "bin/pivot",
    `#!/bin/sh\nexec ${JSON.stringify(Deno.execPath())} run -A ${JSON.stringify(CLI)} "$@"\n`,
  );
  await Deno.chmod(project.path("bin/pivot"), 0o755);
  // Commands that load the pipeline keep the stage names for completion.
  const list = await project.pivot("list");
  if (list.code !== 0) throw new Error(`pivot list failed: ${list.stderr}`);
  return {
    project,
    path: `${project.path("bin")}:${Deno.env.get("PATH")}`,
    script: project.path("bin/completion"),
  };
}

async function shell(
  command: string,
  args: string[],
  cwd: string,
  path: string,
): Promise<string> {
  const result = await output(command, {
    args,
    cwd,
    env: { PATH: path, NO_COLOR: "1", HOME: cwd, TERM: "xterm" },
    stdin: "null",
  });
  const text = new TextDecoder().decode(result.stdout);
  if (!result.success) {
    throw new Error(`${command} failed: ${new TextDecoder().decode(result.stderr)}\n${text}`);
  }
  return text;
}

test("__complete lists stage names from the cache, loading the pipeline only when it changed", async () => {
  const { project } = await setup();
  try {
    const names = async () => (await project.pivot("__complete", "stages")).stdout.trim();
    // No cache yet: the names come from loading the pipeline (in `pivot list`).
    await Deno.remove(project.path(".pivot/state/stage_names.json"));
    assertEquals(await names(), "prepare\ntrain\ntrain_eval");
    await Deno.remove(project.path("loaded.marker"));
    assertEquals(await names(), "prepare\ntrain\ntrain_eval");
    assert(!(await project.exists("loaded.marker")), "a fresh cache must not load the pipeline");
    // An edit to the pipeline makes the cache stale.
    await project.write("pipeline.ts", pipeline(["prepare", "evaluate"]));
    assertEquals(await names(), "prepare\nevaluate");
    assert(await project.exists("loaded.marker"));
    // Outside a project: nothing, and no error.
    await using outside = await tempDir();
    const result = await runPivot(outside.root, ["__complete", "stages"]);
    assertEquals([result.code, result.stdout, result.stderr], [0, "", ""]);
  } finally {
    await project.dispose();
  }
});

test("completion: an unknown shell is a usage error", async () => {
  const project = await TempProject.create({}, { init: false });
  try {
    const result = await project.pivot("completion", "tcsh");
    assertEquals(result.code, 2);
    assertMatch(result.stderr, /unknown shell 'tcsh': use 'pivot completion bash\|zsh\|fish'/);
  } finally {
    await project.dispose();
  }
});

test("completion: bash", { timeLimit: 300_000 }, async () => {
  const { project, path, script } = await setup();
  try {
    await Deno.writeTextFile(script, (await project.pivot("completion", "bash")).stdout);
    const complete = async (...words: string[]) => {
      const quoted = words.map((w) => `'${w}'`).join(" ");
      const out = await shell(
        "bash",
        [
          "-c",
          `source '${script}'; COMP_WORDS=(${quoted}); COMP_CWORD=${
            words.length - 1
          }; _pivot; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        project.root,
        path,
      );
      return out.split("\n").filter((line) => line !== "").sort();
    };
    assertEquals(await complete("pivot", "re"), ["remote", "repro"]);
    assertEquals(await complete("pivot", "repro", "--f"), ["--force"]);
    assertEquals(await complete("pivot", "repro", "tr"), ["train", "train_eval"]);
    assertEquals(await complete("pivot", "-v", "repro", "-j", "2", "p"), ["prepare"]);
    assertEquals(await complete("pivot", "params", ""), ["diff", "show"]);
    assertEquals(await complete("pivot", "params", "show", "pre"), ["prepare"]);
    assertEquals(await complete("pivot", "completion", "z"), ["zsh"]);
    assertEquals(await complete("pivot", "he"), ["help"]);
    assertEquals(await complete("pivot", "help", "ve"), ["verify"]);
    assertEquals(await complete("pivot", "--cwd", "bi"), ["bin"]);
    assertEquals(await complete("pivot", "repro", "-j", ""), []);
  } finally {
    await project.dispose();
  }
});

test("completion: zsh, with Tab in an interactive shell", { timeLimit: 300_000 }, async () => {
  const { project, path, script } = await setup();
  try {
    await Deno.writeTextFile(script, (await project.pivot("completion", "zsh")).stdout);
    // Type LINE and Tab in an interactive zsh on a pseudo-terminal; the
    // screen it draws, without escape codes.
    // Each Tab is sent once the screen shows what the one before drew
    // (`expects`, one per Tab), so a slow completion under load is waited
    // for rather than raced.
    const tab = async (line: string, ...expects: string[]) => {
      const driver = project.path("bin/drive.zsh");
      const pattern = line.replace(/[^A-Za-z0-9 ]/g, "?");
      const waitFor = (expect: string) =>
        `for i in {1..900}; do
  while zpty -r -t z chunk; do out+=$chunk; done
  plain=\${out//$'\\e'\\[[0-9;?]#[A-Za-z]/ }
  [[ \${plain#*${pattern}} == *${JSON.stringify(expect)}* ]] && break
  sleep 0.1
done
`;
      await Deno.writeTextFile(
        driver,
        `zmodload zsh/zpty
setopt extendedglob
zpty z 'zsh -f -i'
zpty -w z 'PS1="> "; autoload -Uz compinit; compinit -u; source ${script}; setopt nobeep; print RE""ADY'
out=""
# Wait for the shell to be ready (the echoed command shows RE""ADY, not READY).
for i in {1..300}; do
  while zpty -r -t z chunk; do out+=$chunk; done
  [[ $out == *READY* ]] && break
  sleep 0.1
done
out=""
zpty -w -n z ${JSON.stringify(line)}
# Each Tab, then read until the screen shows what it should draw (or 90 s pass).
${
          expects.map((expect) =>
            `zpty -w -n z $'\\t'
${waitFor(expect)}`
          ).join("")
        }
print -rn -- "$out"
zpty -d z
`,
      );
      const screen = await shell("zsh", ["-f", driver], project.root, path);
      // deno-lint-ignore no-control-regex
      const plain = screen.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, " ");
      // What zsh drew after the typed line: the completed word, or a listing.
      return plain.slice(plain.indexOf(line) + line.length);
    };
    assertMatch(await tab("pivot rep", "ro"), /ro/); // completed inline to "repro"
    // The first Tab inserts the common prefix, the second lists the choices.
    const stages = await tab("pivot repro tr", "ain", "train_eval");
    assertMatch(stages, /^ain/);
    assertMatch(stages, /train\b/);
    assertMatch(stages, /train_eval/);
    const subcommands = await tab("pivot params ", "show");
    assertMatch(subcommands, /diff\s+show/);
    assertMatch(await tab("pivot repro --fo", "rce"), /rce/); // --force
  } finally {
    await project.dispose();
  }
});

test("completion: fish, with its own completion engine", { timeLimit: 300_000 }, async () => {
  const { project, path, script } = await setup();
  try {
    await Deno.writeTextFile(script, (await project.pivot("completion", "fish")).stdout);
    const complete = async (line: string) =>
      (await shell(
        "fish",
        [
          "--no-config",
          "-c",
          `source ${script}; complete -C ${JSON.stringify(line)}`,
        ],
        project.root,
        path,
      )).split("\n").filter((l) => l !== "").map((l) => l.split("\t")[0])
        .sort();
    assertEquals(await complete("pivot re"), ["remote", "repro"]);
    assertEquals(await complete("pivot repro --fo"), ["--force"]);
    assertEquals(await complete("pivot repro tr"), ["train", "train_eval"]);
    assertEquals(await complete("pivot -v repro -j 2 p"), ["prepare"]);
    assertEquals(await complete("pivot params "), ["diff", "show"]);
    assertEquals(await complete("pivot params show pre"), ["prepare"]);
    assertEquals(await complete("pivot schema c"), ["config"]);
  } finally {
    await project.dispose();
  }
});

// The completion scripts stay in step with the commands: every command,
// and every flag of `repro`, is offered.
test("completion scripts offer every command and its flags", async () => {
  const { loadCommands } = await import("../../lib/cli/main.ts");
  const commands = await loadCommands();
  const { completionScript } = await import("../../lib/cli/completion.ts");
  for (const shellName of ["bash", "zsh", "fish"] as const) {
    const text = completionScript(shellName, commands);
    for (const command of commands.filter((c) => !c.hidden)) {
      assert(text.includes(command.name), `${shellName}: ${command.name}`);
    }
    assert(!text.includes("__complete stages\n  "), "the hidden command is not offered");
    const repro = commands.find((c) => c.name === "repro")!;
    for (const flag of Object.keys(repro.options)) {
      assert(text.includes(flag), `${shellName}: repro --${flag}`);
    }
  }
});
