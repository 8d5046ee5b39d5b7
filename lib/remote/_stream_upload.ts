/**
 * Sending a slice of a file as a request body, streamed with a
 * `Content-Length` (S3 refuses `Transfer-Encoding: chunked` uploads).
 *
 * Deno's `fetch` cannot do this: it sends a stream chunked, and copies a
 * buffer body into a fresh array per request, garbage that V8 collects late
 * (a 256 MiB push in 8 MiB parts peaked at 400 MB of RSS). `node:http` in
 * Deno streams with the length given, so an upload holds two 1 MiB blocks
 * however large its part: memory is (parallel requests) × 2 MiB.
 *
 * @module
 */

import type * as Http from "node:http";

/** A byte range of a file. */
export interface FileSlice {
  /** Absolute path. */
  readonly path: string;
  /** First byte. */
  readonly offset: number;
  /** Bytes. */
  readonly length: number;
}

const BLOCK = 1 << 20;

type HttpModule = typeof Http;
let modules: Promise<{ http: HttpModule; https: HttpModule }> | undefined;
const agents = new Map<string, Http.Agent>();

/**
 * Send `method url` with the file slice as body and `headers` (signed), and
 * return the answer as a fetch `Response`. `touch` is called whenever bytes
 * move (the caller's idle timer); `signal` aborts.
 */
export async function sendFileSlice(
  method: string,
  url: URL,
  headers: Headers,
  slice: FileSlice,
  signal: AbortSignal,
  touch: () => void,
): Promise<Response> {
  modules ??= Promise.all([import("node:http"), import("node:https")]).then(([http, https]) => ({
    http: http.default as unknown as HttpModule,
    https: https.default as unknown as HttpModule,
  }));
  const { http, https } = await modules;
  const secure = url.protocol === "https:";
  const agentKey = url.protocol;
  let agent = agents.get(agentKey);
  if (!agent) {
    agent = new (secure ? https : http).Agent({ keepAlive: true, maxSockets: Infinity });
    agents.set(agentKey, agent);
  }
  const outgoing: Record<string, string> = {};
  headers.forEach((value, key) => outgoing[key] = value);
  outgoing["content-length"] = String(slice.length);

  using file = await Deno.open(slice.path, { read: true });
  if (slice.offset > 0) await file.seek(slice.offset, Deno.SeekMode.Start);

  return await new Promise<Response>((resolve, reject) => {
    const request = (secure ? https : http).request({
      method,
      host: url.hostname,
      port: url.port || (secure ? 443 : 80),
      path: url.pathname + url.search,
      headers: outgoing,
      agent,
    }, (response) => {
      touch();
      const status = response.statusCode ?? 0;
      const answer = new Headers();
      for (const [key, value] of Object.entries(response.headers)) {
        if (value !== undefined) answer.set(key, Array.isArray(value) ? value.join(", ") : value);
      }
      const chunks: Uint8Array[] = [];
      response.on("data", (chunk: Uint8Array) => {
        touch();
        chunks.push(chunk);
      });
      response.on("end", () => {
        const body = status === 204 || status === 304 || method === "HEAD" ? null : concat(chunks);
        resolve(new Response(body, { status, headers: answer }));
      });
      response.on("error", reject);
    });
    const abort = () => request.destroy(signal.reason ?? new Error("aborted"));
    signal.addEventListener("abort", abort, { once: true });
    request.on("error", (error) => {
      signal.removeEventListener("abort", abort);
      reject(signal.aborted ? signal.reason : new TypeError(`connection failed: ${error.message}`));
    });
    request.on("close", () => signal.removeEventListener("abort", abort));
    writeBody(request, file, slice, touch).catch((error) => request.destroy(error));
  });
}

/** Write the slice in blocks, two buffers in turn: one is read while the other is sent. */
async function writeBody(
  request: Http.ClientRequest,
  file: Deno.FsFile,
  slice: FileSlice,
  touch: () => void,
): Promise<void> {
  const buffers = [
    new Uint8Array(Math.min(BLOCK, slice.length)),
    new Uint8Array(Math.min(BLOCK, slice.length)),
  ];
  const sent: (Promise<void> | undefined)[] = [undefined, undefined];
  let left = slice.length;
  for (let turn = 0; left > 0; turn ^= 1) {
    await sent[turn];
    const buffer = buffers[turn]!;
    const want = Math.min(buffer.length, left);
    let filled = 0;
    while (filled < want) {
      const n = await file.read(buffer.subarray(filled, want));
      if (n === null) {
        throw new Error(`${slice.path} ended before byte ${slice.offset + slice.length}`);
      }
      filled += n;
    }
    left -= want;
    // The buffer is reused only once node:http reports this write flushed.
    sent[turn] = new Promise<void>((resolve, reject) =>
      request.write(
        buffer.subarray(0, want),
        (error) => (error ? reject(error) : (touch(), resolve())),
      )
    );
  }
  await Promise.all(sent);
  request.end();
}

function concat(chunks: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
