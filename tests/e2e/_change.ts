/**
 * Change-detection end-to-end helpers: edit a file of a temporary project
 * that has been reproduced once, then check what `status --json` says and
 * what `repro --json` actually runs, and (for changes that re-run) undo the
 * edit and check the reverse direction too.
 *
 * @module
 */

import { TempProject } from "../_project.ts";
import { assert, assertEquals } from "../_assert.ts";

/** One edit of a project file. */
export type Edit =
  /** Replace `from` (a string once, or a RegExp as it says) with `to`. */
  | { readonly file: string; readonly from: string | RegExp; readonly to: string }
  /** Write the whole file (`null`: remove it). */
  | { readonly file: string; readonly write: string | null };

/** An expected `changes.code` entry; `line` may be a needle found in `file` after the edit. */
export interface CodeExpect {
  readonly key: string;
  readonly file: string;
  readonly line: number | string;
}

/** An expected `changes.params` entry. */
export interface ParamExpect {
  readonly key: string;
  readonly old: unknown;
  readonly new: unknown;
}

/** What `status --json` should report for a stage that will run. */
export interface StageExpect {
  /** Code changes (reason `code`). */
  readonly code?: readonly CodeExpect[];
  /** Param changes (reason `params`). */
  readonly params?: readonly ParamExpect[];
}

interface CodeEntry {
  key: string;
  old: string | null;
  new: string | null;
  file: string | null;
  line: number | null;
}

interface StatusStage {
  name: string;
  status: string;
  reasons: string[];
  changes: { code: CodeEntry[]; params: ParamExpect[]; deps: unknown[] };
}

const HASH = /^[0-9a-f]{16}$/;

/**
 * Create a project from `files`, run `repro` once (every stage must run) and
 * return it with its stage names.
 */
export async function reproduced(
  files: Record<string, string>,
  options: { imports?: Record<string, string> } = {},
): Promise<TempProject> {
  const p = await TempProject.create(files, options);
  try {
    const { result, events } = await p.events("repro");
    assertEquals(result.code, 0, result.stderr);
    const ran = TempProject.byStatus(events);
    assertEquals(Object.keys(ran), ["ran"], JSON.stringify(events));
    return p;
  } catch (error) {
    await p.dispose();
    throw error;
  }
}

/** The 1-based line of the first line of `text` holding `needle`. */
export function lineOf(text: string, needle: string): number {
  const index = text.indexOf(needle);
  if (index < 0) throw new Error(`not found: ${needle}`);
  return text.slice(0, index).split("\n").length;
}

/** Apply `edits`; the returned function puts every touched file back as it was. */
export async function applyEdits(
  p: TempProject,
  edits: readonly Edit[],
): Promise<() => Promise<void>> {
  const originals = new Map<string, string | null>();
  for (const edit of edits) {
    if (!originals.has(edit.file)) {
      originals.set(edit.file, (await p.exists(edit.file)) ? await p.read(edit.file) : null);
    }
    if ("write" in edit) {
      if (edit.write === null) await Deno.remove(p.path(edit.file));
      else await p.write(edit.file, edit.write);
      continue;
    }
    const text = await p.read(edit.file);
    const edited = text.replace(edit.from, edit.to);
    if (edited === text) throw new Error(`${edit.file}: ${edit.from} not found`);
    await p.write(edit.file, edited);
  }
  return async () => {
    for (const [file, text] of originals) {
      if (text === null) await Deno.remove(p.path(file)).catch(() => {});
      else await p.write(file, text);
    }
  };
}

async function statusStages(p: TempProject): Promise<StatusStage[]> {
  return (await p.status()).stages as unknown as StatusStage[];
}

/** `status --json` says every stage is up to date, and `repro --json` runs none. */
export async function expectNothingRuns(p: TempProject): Promise<void> {
  const stages = await statusStages(p);
  for (const s of stages) {
    assertEquals(
      [s.name, s.status, s.reasons, s.changes],
      [s.name, "up-to-date", [], { code: [], params: [], deps: [] }],
    );
  }
  const { result, events } = await p.events("repro");
  assertEquals(result.code, 0, result.stderr);
  assertEquals(TempProject.byStatus(events), { skipped: stages.map((s) => s.name).sort() });
}

/**
 * Apply `edits` and check that nothing re-runs (`status --json` all up to
 * date, `repro --json` all skipped); then put the files back.
 */
export async function expectNoRuns(p: TempProject, edits: readonly Edit[]): Promise<void> {
  const revert = await applyEdits(p, edits);
  try {
    await expectNothingRuns(p);
  } finally {
    await revert();
  }
}

/**
 * Apply `edits` and check that exactly the stages of `expected` will run,
 * for the reasons and with the changes given, and that `repro --json` runs
 * exactly them. Then undo the edits and check the reverse direction: the same
 * keys change back (old and new swapped) and `repro` restores the earlier
 * outputs from the run cache instead of running. `afterRun` is called after
 * the forward `repro` (to look at what the edited code produced). Returns the
 * forward `changes.code` entries by stage.
 */
export async function expectRuns(
  p: TempProject,
  edits: readonly Edit[],
  expected: Readonly<Record<string, StageExpect>>,
  afterRun?: () => Promise<void>,
): Promise<Record<string, CodeEntry[]>> {
  const revert = await applyEdits(p, edits);
  let reverted = false;
  try {
    const forward = await statusStages(p);
    const all = forward.map((s) => s.name).sort();
    const willRun = Object.keys(expected).sort();
    await checkStatus(p, forward, expected);
    const code: Record<string, CodeEntry[]> = {};
    for (const s of forward) if (expected[s.name]) code[s.name] = s.changes.code;

    const ran = await p.events("repro");
    assertEquals(ran.result.code, 0, ran.result.stderr);
    assertEquals(TempProject.byStatus(ran.events), byStatus("ran", willRun, all));
    for (const event of ran.events) {
      if (event.type === "stage" && event.status === "ran") {
        assertEquals(event.reason, reasonsOf(expected[event.stage!])[0], JSON.stringify(event));
      }
    }
    await afterRun?.();

    // The other direction: undoing the edit is a change back.
    await revert();
    reverted = true;
    const backward = await statusStages(p);
    for (const s of backward) {
      if (!expected[s.name]) continue;
      assertEquals(s.status, "will-run", s.name);
      assertEquals(
        s.changes.code.map((c) => [c.key, c.old, c.new]),
        code[s.name].map((c) => [c.key, c.new, c.old]),
        `${s.name}: undoing the edit changes the same keys back`,
      );
      assertEquals(s.changes.params, (expected[s.name].params ?? []).map(swap));
    }
    const back = await p.events("repro");
    assertEquals(back.result.code, 0, back.result.stderr);
    assertEquals(TempProject.byStatus(back.events), byStatus("restored", willRun, all));
    return code;
  } finally {
    if (!reverted) await revert();
  }
}

function swap(change: ParamExpect): ParamExpect {
  return { key: change.key, old: change.new, new: change.old };
}

function reasonsOf(expect: StageExpect): string[] {
  return [...(expect.code?.length ? ["code"] : []), ...(expect.params?.length ? ["params"] : [])];
}

function byStatus(status: string, stages: string[], all: string[]): Record<string, string[]> {
  const others = all.filter((s) => !stages.includes(s));
  return {
    ...(stages.length > 0 ? { [status]: stages } : {}),
    ...(others.length > 0 ? { skipped: others } : {}),
  };
}

async function checkStatus(
  p: TempProject,
  stages: readonly StatusStage[],
  expected: Readonly<Record<string, StageExpect>>,
): Promise<void> {
  const names = stages.map((s) => s.name);
  for (const name of Object.keys(expected)) assert(names.includes(name), `no stage ${name}`);
  for (const s of stages) {
    const want = expected[s.name];
    if (!want) {
      assertEquals(
        [s.name, s.status, s.reasons, s.changes],
        [s.name, "up-to-date", [], { code: [], params: [], deps: [] }],
      );
      continue;
    }
    assertEquals([s.name, s.status, s.reasons], [s.name, "will-run", reasonsOf(want)]);
    const code = [];
    for (const c of want.code ?? []) {
      const line = typeof c.line === "number" ? c.line : lineOf(await p.read(c.file), c.line);
      code.push({ key: c.key, file: c.file, line });
    }
    assertEquals(
      s.changes.code.map((c) => ({ key: c.key, file: c.file, line: c.line })),
      code,
      `${s.name}: changes.code`,
    );
    for (const c of s.changes.code) {
      assert(HASH.test(c.old ?? "") && HASH.test(c.new ?? ""), `${s.name}: ${JSON.stringify(c)}`);
      assert(c.old !== c.new, `${s.name}: ${c.key} has the same hash before and after`);
    }
    assertEquals(s.changes.params, want.params ?? [], `${s.name}: changes.params`);
    assertEquals(s.changes.deps, [], `${s.name}: changes.deps`);
  }
}
