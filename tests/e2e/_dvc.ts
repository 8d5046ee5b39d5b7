/**
 * DVC projects for end-to-end tests: a copy of `tests/fixtures/dvc_project/`
 * (Python scripts for prepare, featurize, train and evaluate, with
 * `params.yaml`, a `foreach` stage and directory outs, as DVC's get-started
 * guide builds them), run with Debian's `python3`, `python3-pandas`,
 * `python3-sklearn` and `python3-yaml` — installed with `apt-get` when
 * missing, as `_browser.ts` installs Chromium.
 *
 * The project's commands say `python`, as DVC projects do: each project gets
 * a `bin/` (outside it) with `python` linked to Debian's `python3`, first on
 * the `PATH` its `pivot` runs see. DVC itself cannot be installed here; a
 * `dvc.lock` and `.dvc` files are written by `_dvc_lock.py`, which hashes and
 * lays out the files, and fills DVC's cache, as DVC 3 does (see its doc).
 *
 * @module
 */

import { join } from "node:path";
import { output, spawn } from "../_harness.ts";
import { type JsonEvent, type PivotResult, REPO, runPivot, TempDir, tempDir } from "../_project.ts";

/** Debian's Python. */
export const PYTHON = "/usr/bin/python3";
const FIXTURE = join(REPO, "tests", "fixtures", "dvc_project");
const LOCK_WRITER = join(REPO, "tests", "e2e", "_dvc_lock.py");
const PACKAGES = ["python3", "python3-pandas", "python3-sklearn", "python3-yaml"];

let installing: Promise<void> | undefined;

/** Make sure Debian's Python with pandas, scikit-learn and PyYAML is there (apt-get if not). */
export function ensurePython(): Promise<void> {
  return installing ??= install();
}

async function pythonReady(): Promise<boolean> {
  try {
    // Not a test's own process: a test out of time must not kill apt-get or this check.
    // test-conventions: allow
    const { success } = await new Deno.Command(PYTHON, {
      // Attributes, not just names: with python3-pandas removed and
      // python3-pandas-lib left, `import pandas` finds a namespace package.
      args: ["-c", "import pandas, sklearn, yaml; pandas.read_csv, sklearn.__version__"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

async function install(): Promise<void> {
  if (await pythonReady()) return;
  const apt = async (...args: string[]) => {
    // test-conventions: allow
    const { code, stderr } = await new Deno.Command("apt-get", {
      args: ["-o", "DPkg::Lock::Timeout=600", ...args],
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdout: "null",
      stderr: "piped",
    }).output();
    return { ok: code === 0, stderr: new TextDecoder().decode(stderr).trim() };
  };
  let result = await apt("install", "-y", "--no-install-recommends", ...PACKAGES);
  if (!result.ok) {
    await apt("update"); // a fresh machine has no package lists yet
    result = await apt("install", "-y", "--no-install-recommends", ...PACKAGES);
  }
  if (!result.ok || !await pythonReady()) {
    throw new Error(`could not install ${PACKAGES.join(", ")} with apt-get: ${result.stderr}`);
  }
}

/** A stage of the fixture as DVC resolves it (what `_dvc_lock.py` records). */
export interface ResolvedStage {
  readonly name: string;
  readonly cmd: string;
  readonly deps: readonly string[];
  readonly params: Readonly<Record<string, readonly string[]>>;
  readonly outs: readonly string[];
}

/** The fixture's stages, resolved as DVC resolves its `dvc.yaml` (foreach expanded). */
export const FIXTURE_STAGES: readonly ResolvedStage[] = [
  {
    name: "prepare",
    cmd: "python src/prepare.py data/reviews.tsv",
    deps: ["data/reviews.tsv", "src/prepare.py"],
    params: { "params.yaml": ["prepare.seed", "prepare.split"] },
    outs: ["data/prepared"],
  },
  {
    name: "featurize",
    cmd: "python src/featurize.py data/prepared data/features",
    deps: ["data/prepared", "src/featurize.py"],
    params: { "params.yaml": ["featurize.max_features", "featurize.ngrams"] },
    outs: ["data/features"],
  },
  {
    name: "train",
    cmd: "python src/train.py data/features model.pkl",
    deps: ["data/features", "src/train.py"],
    params: { "params.yaml": ["train.min_split", "train.n_est", "train.seed"] },
    outs: ["model.pkl"],
  },
  ...["train", "test"].map((split) => ({
    name: `evaluate@${split}`,
    cmd: `python src/evaluate.py model.pkl data/features ${split}`,
    deps: ["data/features", "model.pkl", "src/evaluate.py"],
    params: {},
    outs: [`eval/${split}/metrics.json`, `eval/${split}/roc.csv`],
  })),
];

/** A copy of the DVC fixture project, driven through the real `pivot` CLI. */
export class DvcProject extends TempDir {
  readonly #bin: TempDir;

  private constructor(root: string, bin: TempDir) {
    super(root);
    this.#bin = bin;
  }

  /** A fresh copy of the fixture (a git repository, nothing run yet). */
  static async create(): Promise<DvcProject> {
    await ensurePython();
    const bin = await tempDir();
    const project = new DvcProject((await tempDir()).root, bin);
    try {
      await Deno.symlink(PYTHON, bin.path("python"));
      await copyTree(FIXTURE, project.root);
      await project.initGit();
      await project.write(".gitignore", "__pycache__/\n");
    } catch (error) {
      await project.dispose();
      throw error;
    }
    return project;
  }

  /** The environment `pivot` runs with: `python` is Debian's. */
  get env(): Record<string, string> {
    return { PATH: `${this.#bin.root}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}` };
  }

  /** Run `pivot ARGS` here. */
  pivot(...args: string[]): Promise<PivotResult> {
    return runPivot(this.root, args, this.env);
  }

  /** Run `pivot ARGS --json` and parse its JSON Lines. */
  async events(...args: string[]): Promise<{ result: PivotResult; events: JsonEvent[] }> {
    const result = await this.pivot(...args, "--json");
    const events = result.stdout.split("\n").filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as JsonEvent);
    return { result, events };
  }

  /**
   * Run every stage's command in order, as `dvc repro` would, then write
   * `dvc.lock` as DVC does, with the outs in DVC's cache.
   */
  async reproAsDvc(stages: readonly ResolvedStage[] = FIXTURE_STAGES): Promise<void> {
    for (const stage of stages) {
      const [program, ...args] = stage.cmd.split(" ");
      const result = await output(program === "python" ? PYTHON : program, {
        args,
        cwd: this.root,
      });
      if (!result.success) {
        throw new Error(`${stage.cmd}: ${new TextDecoder().decode(result.stderr)}`);
      }
    }
    await this.writeDvcLock(stages);
  }

  /** `dvc add PATHS`: a `.dvc` file beside each, its content in DVC's cache (`_dvc_lock.py`). */
  async addAsDvc(...paths: string[]): Promise<void> {
    const result = await output(PYTHON, { args: [LOCK_WRITER, "add", ...paths], cwd: this.root });
    if (!result.success) {
      throw new Error(`_dvc_lock.py add: ${new TextDecoder().decode(result.stderr)}`);
    }
  }

  /** Write `dvc.lock` for `stages` from the workspace as it is (`_dvc_lock.py`). */
  async writeDvcLock(stages: readonly ResolvedStage[] = FIXTURE_STAGES): Promise<void> {
    const result = await withInput(PYTHON, [LOCK_WRITER], this.root, JSON.stringify(stages));
    if (!result.success) {
      throw new Error(`_dvc_lock.py: ${new TextDecoder().decode(result.stderr)}`);
    }
  }

  /** Remove the project and its `bin/`. */
  override async dispose(): Promise<void> {
    await this.#bin.dispose();
    await super.dispose();
  }
}

/** Run `command ARGS` in `cwd` with `input` on its stdin, to its end. */
async function withInput(
  command: string,
  args: string[],
  cwd: string,
  input: string,
): Promise<Deno.CommandOutput> {
  const child = spawn(command, { args, cwd, stdin: "piped", stdout: "piped", stderr: "piped" });
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  return await child.output();
}

async function copyTree(from: string, to: string): Promise<void> {
  for await (const entry of Deno.readDir(from)) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory) {
      await Deno.mkdir(target, { recursive: true });
      await copyTree(source, target);
    } else await Deno.copyFile(source, target);
  }
}
