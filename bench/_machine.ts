/**
 * What the benchmark ran on: CPU, cores, memory, kernel and the version of
 * every tool measured, so that figures from different machines are not
 * compared by mistake.
 *
 * @module
 */

import { REPO } from "./_tools.ts";

/** One row of the machine table. */
export interface MachineFact {
  /** What (`CPU`, `make`). */
  readonly key: string;
  /** Its value, or why it is unknown. */
  readonly value: string;
}

async function capture(argv: string[]): Promise<string | undefined> {
  try {
    const [program, ...args] = argv;
    const output = await new Deno.Command(program, { args, stdin: "null", cwd: REPO }).output();
    if (output.code !== 0) return undefined;
    const decoder = new TextDecoder();
    // Some tools (xxhsum) print their version on stderr.
    return (decoder.decode(output.stdout) + decoder.decode(output.stderr)).trim();
  } catch {
    return undefined;
  }
}

async function firstLineOf(argv: string[], fallback = "not installed"): Promise<string> {
  return (await capture(argv))?.split("\n")[0].trim() ?? fallback;
}

async function readOr(path: string): Promise<string> {
  return await Deno.readTextFile(path).catch(() => "");
}

/** The installed Debian version of `pkg`, if dpkg knows it. */
async function debianVersion(pkg: string): Promise<string | undefined> {
  const line = await capture(["dpkg-query", "-W", "-f", "${Version}", pkg]);
  return line || undefined;
}

/** ", on Python 3.x.y" for the interpreter named by the `snakemake` script's `#!` line. */
async function snakemakePython(): Promise<string> {
  const script = (await capture(["sh", "-c", "command -v snakemake"]))?.split("\n")[0];
  if (!script) return "";
  const shebang = /^#!\s*(\S+)/.exec(await readOr(script))?.[1];
  const version = shebang ? await capture([shebang, "--version"]) : undefined;
  return version ? `, on ${version} (${shebang})` : "";
}

/** Facts about this machine and the tools, in display order. */
export async function machineFacts(): Promise<MachineFact[]> {
  const cpuinfo = await readOr("/proc/cpuinfo");
  const meminfo = await readOr("/proc/meminfo");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? "unknown";
  const memKib = Number(/^MemTotal:\s*(\d+)/m.exec(meminfo)?.[1] ?? NaN);
  const hypervisor = /^flags\s*:.*\bhypervisor\b/m.test(cpuinfo) ? " (virtual machine)" : "";
  const withDeb = async (shown: string, pkg: string) => {
    const deb = await debianVersion(pkg);
    return deb ? `${shown} (Debian ${deb})` : shown;
  };
  const commit = await capture(["git", "rev-parse", "--short", "HEAD"]);
  const changed = (await capture(["git", "diff", "--name-only", "HEAD"]) ?? "")
    .split("\n").filter((path) => path !== "");
  const dirty = changed.length ? ` + uncommitted changes to ${changed.join(", ")}` : "";
  return [
    { key: "date", value: new Date().toISOString().replace(/\.\d+Z$/, "Z") },
    { key: "CPU", value: `${model}${hypervisor}` },
    { key: "cores", value: String(navigator.hardwareConcurrency) },
    {
      key: "RAM",
      value: Number.isNaN(memKib) ? "unknown" : `${(memKib / 1024 / 1024).toFixed(1)} GiB`,
    },
    { key: "kernel", value: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}` },
    { key: "deno", value: `${Deno.version.deno} (V8 ${Deno.version.v8})` },
    { key: "pivot commit", value: commit ? commit + dirty : "unknown" },
    { key: "make", value: await withDeb(await firstLineOf(["make", "--version"]), "make") },
    {
      key: "snakemake",
      value: await withDeb(await firstLineOf(["snakemake", "--version"]), "snakemake") +
        await snakemakePython(),
    },
    { key: "xxhsum", value: await withDeb(await firstLineOf(["xxhsum", "--version"]), "xxhash") },
    {
      key: "md5sum, cat",
      value: await withDeb(await firstLineOf(["md5sum", "--version"]), "coreutils"),
    },
    {
      key: "GNU time",
      value: (await debianVersion("time")) ?? "not installed (no peak memory figures)",
    },
    { key: "python3 (for gen_peers.py)", value: await firstLineOf(["python3", "--version"]) },
  ];
}
