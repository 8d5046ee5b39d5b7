/**
 * `pivot doctor`: versions, how Pivot was started, the project, its config
 * files, cache and remotes, and the state store's size; plain text to paste
 * into a bug report, or `--json`.
 *
 * @module
 */

import { type Command, noPositionals } from "../command.ts";
import { type CheckResult, type DoctorReport, gatherReport } from "../doctor.ts";
import { formatBytes } from "../format_bytes.ts";

const CLI_URL = new URL("../../../cli.ts", import.meta.url).href;

/** The `doctor` command. */
export const doctor: Command = {
  name: "doctor",
  summary: "Show versions, how pivot was started, and the project's setup (for bug reports).",
  usage: "doctor [options]",
  options: {
    json: { type: "boolean", help: "JSON on stdout" },
  },
  async run({ values, positionals }, env) {
    noPositionals("doctor", positionals);
    const report = await gatherReport(env.cwd, CLI_URL);
    if (values.json) env.output.line(JSON.stringify(report, null, 2));
    else for (const line of formatReport(report)) env.output.line(line);
    return 0;
  },
};

const LAUNCHES: Record<DoctorReport["launch"]["kind"], string> = {
  checkout: "from a checkout",
  jsr: "from JSR",
  shim: "as a command installed with deno install",
  binary: "as a compiled binary",
  remote: "from a URL",
};

/** The report as aligned `label: value` lines. */
function formatReport(report: DoctorReport): string[] {
  const rows: [string, string][] = [
    ["pivot", report.pivot.version],
    [
      "deno",
      `${report.deno.version} (${report.deno.path}; v8 ${report.deno.v8}, typescript ${report.deno.typescript})`,
    ],
    ["os", `${report.os.os} ${report.os.arch}`],
    ["launched", `${LAUNCHES[report.launch.kind]}: ${report.launch.detail}`],
    ["jsr registry", `${report.jsr.url}${report.jsr.fromEnv ? " (from JSR_URL)" : ""}`],
  ];
  if (!report.project) {
    rows.push(["project", "none here (run 'pivot init' in your project's root)"]);
    return align(rows);
  }
  const { project } = report;
  rows.push(["project", project.root]);
  rows.push(["pipeline", project.pipeline ?? `none: ${project.problem}`]);
  rows.push(["deno.json", project.denoConfig ?? "none (Deno's defaults)"]);
  for (const file of report.config) {
    const state = file.problem ? `invalid: ${file.problem}` : file.present ? "present" : "absent";
    rows.push(["config", `${file.path} (${state})`]);
  }
  if (report.cache) {
    const fs = report.cache.filesystem ? ` on ${report.cache.filesystem}` : "";
    rows.push(["cache", `${report.cache.dir}, type ${report.cache.type}${fs}`]);
    rows.push(["reflinks", checkText(report.cache.reflink)]);
  }
  if (report.remotes.length === 0) rows.push(["remotes", "none"]);
  for (const remote of report.remotes) {
    const mark = remote.isDefault ? " (default)" : "";
    rows.push([
      "remote",
      `${remote.name}${mark}: ${remote.url || "?"} from ${remote.source}; ${
        checkText(remote.reachable)
      }`,
    ]);
  }
  if (report.state) {
    rows.push(["state store", `${report.state.dir}, ${formatBytes(report.state.bytes)}`]);
  }
  return align(rows);
}

function checkText(check: CheckResult): string {
  const word = { ok: "yes", failed: "no", unknown: "unknown" }[check.status];
  return `${word}: ${check.detail}`;
}

function align(rows: readonly [string, string][]): string[] {
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  return rows.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`);
}
