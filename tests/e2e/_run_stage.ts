/**
 * Test helper, run in a child `deno` with a test project's config (and
 * `--coverage`): imports a pipeline file and calls one stage's run function,
 * or none (`--load-only`), so that coverage of the run alone is the
 * difference between the two.
 *
 * Usage: `deno run -A --config deno.json _run_stage.ts pipeline.ts <stage>|--load-only`
 *
 * @module
 */

const [file, stageName] = Deno.args;
const module = await import(new URL(file, `file://${Deno.cwd()}/`).href);
if (stageName !== "--load-only") {
  const stages = Object.values(module).flatMap((value) =>
    (value as { stages?: { name: string; run: (deps: unknown, ctx: unknown) => unknown }[] })
      ?.stages ?? []
  );
  const stage = stages.find((s) => s.name === stageName);
  if (!stage) throw new Error(`${file}: no stage named ${stageName}`);
  const result = await stage.run({}, {});
  console.log(JSON.stringify(result));
}
