/**
 * Start a real S3-protocol server (`s3rver`) for a test: a child process on
 * 127.0.0.1 with its own temporary directory, stopped (and the directory
 * removed) when disposed. Its default credentials are `S3RVER`/`S3RVER`.
 *
 * @module
 */

import { spawn } from "../_harness.ts";
import { tempDir } from "../_project.ts";

/** A running s3rver. */
export interface S3rver extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** Its port. */
  readonly port: number;
  /** Where it keeps its data. */
  readonly dir: string;
}

const MAIN = new URL("./_s3rver_main.ts", import.meta.url).pathname;

/** Credentials s3rver accepts, as a lookup for resolveAwsSettings (no files, no env). */
export const S3RVER_LOOKUP = {
  env: { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" },
  home: "/nonexistent",
};

/** Start s3rver with `buckets`; waits (at most 60 s) until it listens. */
export async function startS3rver(...buckets: string[]): Promise<S3rver> {
  const data = await tempDir();
  const dir = data.root;
  const child = spawn(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, dir, ...buckets],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  });
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("s3rver exited before listening");
      text += value;
    }
  } finally {
    clearTimeout(timer);
  }
  // Keep draining stdout so the child never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done);
  })().catch(() => {});
  const port = JSON.parse(text.split("\n")[0]!).port as number;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    dir,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await child.status;
      await data[Symbol.asyncDispose]();
    },
  };
}
