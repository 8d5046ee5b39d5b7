/**
 * A fault-injecting TCP proxy for HTTP/1.1 on 127.0.0.1, in front of a real
 * server. It reads each request's head (and its Content-Length body) so that
 * faults hit whole requests, and forwards responses as raw bytes. Faults:
 *
 * - `reset`: close the connection instead of forwarding the request;
 * - `500`: answer `500 InternalError` itself (and close);
 * - `stall`: swallow the request and never answer (until the proxy closes);
 * - `cut`: forward the request, then close the connection after 64 KiB of
 *   the response (a download broken mid-way);
 * - `hang`: forward the request, then stop after 64 KiB of the response and
 *   keep the connection open (a download stuck mid-way).
 *
 * It also records every request (method and path), so tests can count them.
 *
 * @module
 */

/** What to do to a request. */
export type Fault = "reset" | "500" | "stall" | "cut" | "hang";

/** A fault applied to the next `times` requests that `match`. */
export interface FaultRule {
  /** Which requests (default: all). */
  readonly match?: (method: string, path: string) => boolean;
  /** What happens to them. */
  readonly fault: Fault;
  /** How many requests it hits. */
  times: number;
}

/** One request seen by the proxy. */
export interface SeenRequest {
  /** HTTP method. */
  readonly method: string;
  /** Path with query. */
  readonly path: string;
  /** The fault applied, if any. */
  readonly fault?: Fault;
}

const CUT_AFTER = 64 * 1024;
const decoder = new TextDecoder();

/** A running proxy; close it (or dispose) when done. */
export class FaultProxy implements AsyncDisposable {
  /** Requests seen, in order. */
  readonly requests: SeenRequest[] = [];
  /** Faults still to apply, first match wins. */
  readonly rules: FaultRule[] = [];
  readonly #listener: Deno.TcpListener;
  readonly #target: number;
  readonly #conns = new Set<Deno.Conn>();
  readonly #accepting: Promise<void>;

  private constructor(listener: Deno.TcpListener, targetPort: number) {
    this.#listener = listener;
    this.#target = targetPort;
    this.#accepting = this.#accept();
  }

  /** Start a proxy to `127.0.0.1:targetPort`. */
  static start(targetPort: number): FaultProxy {
    return new FaultProxy(Deno.listen({ hostname: "127.0.0.1", port: 0 }), targetPort);
  }

  /** `http://127.0.0.1:PORT`. */
  get endpoint(): string {
    return `http://127.0.0.1:${(this.#listener.addr as Deno.NetAddr).port}`;
  }

  /** Apply `fault` to the next `times` requests matching `match`. */
  inject(fault: Fault, times: number, match?: (method: string, path: string) => boolean): void {
    this.rules.push({ fault, times, ...(match ? { match } : {}) });
  }

  /** Stop listening and close every connection. */
  async close(): Promise<void> {
    this.#listener.close();
    for (const conn of this.#conns) closeQuietly(conn);
    await this.#accepting;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #accept(): Promise<void> {
    try {
      for await (const client of this.#listener) {
        this.#conns.add(client);
        this.#serve(client).catch(() => {}).finally(() => {
          closeQuietly(client);
          this.#conns.delete(client);
        });
      }
    } catch {
      // listener closed
    }
  }

  #faultFor(method: string, path: string): Fault | undefined {
    const rule = this.rules.find((r) => r.times > 0 && (!r.match || r.match(method, path)));
    if (!rule) return undefined;
    rule.times--;
    return rule.fault;
  }

  async #serve(client: Deno.Conn): Promise<void> {
    let upstream: Deno.Conn | undefined;
    let cutAt = Infinity;
    let hang = false;
    let forwarded = 0;
    let buffer: Uint8Array = new Uint8Array(0);
    const read = async (): Promise<boolean> => {
      const chunk = new Uint8Array(64 * 1024);
      const n = await client.read(chunk);
      if (n === null) return false;
      buffer = concat(buffer, chunk.subarray(0, n));
      return true;
    };
    try {
      while (true) {
        let end: number;
        while ((end = indexOfHeadEnd(buffer)) === -1) if (!(await read())) return;
        const head = decoder.decode(buffer.subarray(0, end));
        const [method = "", path = ""] = head.split("\r\n")[0]!.split(" ");
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        while (buffer.length < end + 4 + length) if (!(await read())) return;
        const request = buffer.subarray(0, end + 4 + length);
        buffer = buffer.slice(end + 4 + length);
        const fault = this.#faultFor(method, path);
        this.requests.push({ method, path, ...(fault ? { fault } : {}) });
        if (fault === "reset") return;
        if (fault === "500") {
          const body = "<Error><Code>InternalError</Code><Message>injected</Message></Error>";
          await writeAll(
            client,
            new TextEncoder().encode(
              `HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/xml\r\n` +
                `content-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
            ),
          );
          return;
        }
        if (fault === "stall") {
          // Hold the connection until the client gives up or the proxy closes.
          while (await read());
          return;
        }
        if (!upstream) {
          upstream = await Deno.connect({ hostname: "127.0.0.1", port: this.#target });
          this.#conns.add(upstream);
          const up = upstream;
          // Responses flow back as raw bytes for the life of the connection.
          (async () => {
            const chunk = new Uint8Array(64 * 1024);
            while (true) {
              const n = await up.read(chunk);
              if (n === null) break;
              const room = cutAt - forwarded;
              await writeAll(client, chunk.subarray(0, Math.min(n, room)));
              forwarded += Math.min(n, room);
              if (forwarded >= cutAt) {
                // A hang keeps the connection open and silent until closed.
                if (hang) { while (await client.read(new Uint8Array(1024)) !== null); }
                break;
              }
            }
            closeQuietly(client);
          })().catch(() => closeQuietly(client));
        }
        if (fault === "cut" || fault === "hang") {
          cutAt = forwarded + CUT_AFTER;
          hang = fault === "hang";
        }
        await writeAll(upstream, request);
      }
    } finally {
      if (upstream) {
        closeQuietly(upstream);
        this.#conns.delete(upstream);
      }
    }
  }
}

function indexOfHeadEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  while (data.length > 0) data = data.subarray(await conn.write(data));
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
