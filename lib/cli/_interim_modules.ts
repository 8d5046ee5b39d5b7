/**
 * Interim: the local module files of a pipeline (for worker read
 * permissions), until the fingerprint module's cached graph lands.
 *
 * @module
 */

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
