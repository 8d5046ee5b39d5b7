/**
 * Interim: the local module files of a pipeline (for worker read
 * permissions), until the fingerprint module's cached graph lands.
 *
 * @module
 */

import { fromFileUrl } from "../paths.ts";
import type { StageDef } from "../pipeline/stage_def.ts";

/**
 * Local files and remote hosts in the module graphs of every module whose
 * code `stages` run: each `pipeline.ts` with registered stages and each
 * module a `pivot.yaml` names, across all the pipelines loaded.
 */
export async function stagesCode(
  stages: readonly StageDef[],
  denoConfig: string | undefined,
): Promise<{ files: string[]; hosts: string[] }> {
  const entries = new Set(stages.map((stage) => fromFileUrl(stage.code.moduleUrl)));
  const graphs = await Promise.all([...entries].map((entry) => pipelineCode(entry, denoConfig)));
  return {
    files: [...new Set(graphs.flatMap((graph) => graph.files))],
    hosts: [...new Set(graphs.flatMap((graph) => graph.hosts))],
  };
}

/** Local files and remote hosts in the module graph of `entry`. */
export async function pipelineCode(
  entry: string,
  denoConfig: string | undefined,
): Promise<{ files: string[]; hosts: string[] }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", ...(denoConfig ? ["--config", denoConfig] : []), entry],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) return { files: [entry], hosts: [] };
  const graph = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    modules: { specifier: string; local?: string }[];
  };
  const files: string[] = [];
  const hosts = new Set<string>();
  for (const module of graph.modules) {
    if (module.specifier.startsWith("file:") && module.local) files.push(module.local);
    else if (/^https?:/.test(module.specifier)) hosts.add(new URL(module.specifier).host);
  }
  return { files, hosts: [...hosts] };
}
