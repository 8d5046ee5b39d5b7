/**
 * Workload 3: hashing a page-cached 1 GiB file. Pivot's `hashFile` (timed
 * inside its process, and as a whole `deno run`) against `xxhsum -H64`,
 * `md5sum` (what DVC uses) and `cat > /dev/null` (the read floor).
 *
 * @module
 */

import type { BenchContext } from "../_context.ts";
import { measured, type Measurement, progress, repeat, stats } from "../_measure.ts";
import { seconds, type Section, spread, table, times, wallCell } from "../_report.ts";
import { ensureProgram, onPath, removeAll, REPO } from "../_tools.ts";

/** Size of the hashed file. */
export const GIB = 1 << 30;

/**
 * Write `size` bytes of pseudo-random content to `path` (4 MiB blocks, each
 * with its index in front so that no two are equal).
 */
export async function writeBigFile(path: string, size: number): Promise<void> {
  const block = new Uint8Array(4 << 20);
  for (let i = 0; i < block.length; i += 65536) {
    crypto.getRandomValues(block.subarray(i, i + 65536));
  }
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  for (let offset = 0, index = 0; offset < size; offset += block.length, index++) {
    new DataView(block.buffer).setUint32(0, index);
    const chunk = block.subarray(0, Math.min(block.length, size - offset));
    for (let written = 0; written < chunk.length;) {
      written += await file.write(chunk.subarray(written));
    }
  }
}

interface Row {
  name: string;
  what: string;
  m: Measurement;
}

/** Hash the file with each tool, then report. */
export async function hashingWorkload(ctx: BenchContext): Promise<Section> {
  const dir = `${ctx.options.workDir}/hashing`;
  const file = `${dir}/1gib.bin`;
  await removeAll(dir);
  await Deno.mkdir(dir, { recursive: true });
  progress("hashing: writing a 1 GiB file");
  await writeBigFile(file, GIB);
  const reps = ctx.options.reps;
  const time = { cwd: dir };
  const rows: Row[] = [];
  const hashes = new Map<string, string>();

  // hashFile as Pivot calls it (the big file read ahead on the I/O thread), then with
  // one thread only (`--alone`), inside the process each time.
  const pivotRuns = async (alone: boolean) => {
    const inProcess: number[] = [];
    const whole = await repeat(
      [
        Deno.execPath(),
        "run",
        "--allow-read",
        `${REPO}/bench/hash_file.ts`,
        ...(alone ? ["--alone"] : []),
        file,
      ],
      time,
      {
        label: `hashing: Pivot hashFile${alone ? " --alone" : ""}`,
        reps,
        warmup: 1,
        check: (run, rep) => {
          let result: { hash: string; ms: number };
          try {
            result = JSON.parse(run.stdout);
          } catch {
            return `bench/hash_file.ts printed no JSON: ${run.stdout.slice(0, 100)}`;
          }
          if (hashes.has("Pivot") && hashes.get("Pivot") !== result.hash) {
            return `hashFile gave ${result.hash}, and ${hashes.get("Pivot")} before`;
          }
          hashes.set("Pivot", result.hash);
          if (rep >= 1) inProcess.push(result.ms);
          return undefined;
        },
      },
    );
    const inside: Measurement = measured(whole)
      ? { wall: stats(inProcess)!, rss: undefined }
      : whole;
    return { whole, inside };
  };
  const pivot = await pivotRuns(false);
  const pivotWhole = pivot.whole;
  rows.push({
    name: "Pivot `hashFile` (xxhash64, own WebAssembly), inside the process",
    what: "pivot",
    m: pivot.inside,
  });
  rows.push({
    name: "Pivot `hashFile` on one thread (synchronous reads, no read-ahead), inside the process",
    what: "pivot-alone",
    m: (await pivotRuns(true)).inside,
  });
  rows.push({
    name: "Pivot, whole `deno run bench/hash_file.ts` process",
    what: "pivot-process",
    m: pivotWhole,
  });

  const peers: { name: string; what: string; argv: string[]; program: string }[] = [
    { name: "`xxhsum -H64`", what: "xxhsum", argv: ["xxhsum", "-H64", file], program: "xxhsum" },
    { name: "`md5sum` (DVC's hash)", what: "md5sum", argv: ["md5sum", file], program: "md5sum" },
    { name: "`cat > /dev/null` (read floor)", what: "cat", argv: ["cat", file], program: "cat" },
  ];
  for (const peer of peers) {
    const available = peer.program === "xxhsum"
      ? await ensureProgram("xxhsum", "xxhash")
      : await onPath(peer.program);
    if (!available) {
      rows.push({ ...peer, m: { skipped: `${peer.program} not installed` } });
      continue;
    }
    const m = await repeat(peer.argv, { ...time, captureStdout: peer.what !== "cat" }, {
      label: `hashing: ${peer.what}`,
      reps,
      warmup: 1,
      check: (run) => {
        if (peer.what === "xxhsum") hashes.set("xxhsum", run.stdout.trim().split(/\s+/)[0]);
        return undefined;
      },
    });
    rows.push({ ...peer, m });
  }
  await removeAll(dir);
  for (const row of rows) ctx.hashRuns.set(row.what, row.m);

  const xxhsum = rows.find((r) => r.what === "xxhsum")?.m;
  const table_ = table(
    ["Hasher", "Time", "Throughput", "Speed vs `xxhsum -H64`"],
    rows.map((row) => [
      row.name,
      measured(row.m) ? spread(row.m.wall, seconds) : wallCell(row.m),
      measured(row.m) ? `${(GIB / (row.m.wall.median / 1000) / 1e9).toFixed(2)} GB/s` : "—",
      measured(row.m) && measured(xxhsum) ? times(xxhsum.wall.median / row.m.wall.median) : "—",
    ]),
  );
  const [ours, theirs] = [hashes.get("Pivot"), hashes.get("xxhsum")];
  const agreement = ours && theirs
    ? ours === theirs
      ? `Pivot's hash equals \`xxhsum -H64\`'s (\`${ours}\`).`
      : `**Pivot's hash \`${ours}\` differs from \`xxhsum -H64\`'s \`${theirs}\`.**`
    : "";
  const body = [
    "A 1 GiB file of random bytes, read once before timing so that it is page-cached. " +
    "Speed vs `xxhsum` is xxhsum's median ÷ this median (target for Pivot's `hashFile`: " +
    "≥ 0.65×). Peers are whole processes (their start-up is about a millisecond).",
    "",
    table_,
    "",
    agreement,
  ];
  return { title: "3. Hashing 1 GiB", body: body.join("\n") };
}
