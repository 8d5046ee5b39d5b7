/**
 * The agent socket of `repro --watch --serve`: JSON-RPC 2.0 over a Unix
 * socket (`.pivot/agent.sock`), one JSON value per line in each direction.
 *
 * Methods: `run {stages?, force?}`, `cancel`, `status`, `stages`,
 * `explain {stage}`, and `subscribe`, after which engine events arrive on that
 * connection as `{"jsonrpc":"2.0","method":"event","params":{…}}`
 * notifications. Malformed input and unknown methods get JSON-RPC errors; a
 * client never crashes the server.
 *
 * @module
 */

import type { EngineEvent } from "../engine/events.ts";

/** What the agent asks of the watch session. */
export interface AgentHandler {
  /** Queue a wave; resolves when it is queued (not when it is done). */
  run(params: { stages?: string[]; force?: boolean }): Promise<unknown>;
  /** Cancel the running wave. */
  cancel(): Promise<unknown>;
  /** SPEC §6 `status --json`. */
  status(): Promise<unknown>;
  /** SPEC §6 `list --json`. */
  stages(): Promise<unknown>;
  /** The explanation of one stage (its `status --json` entry). */
  explain(stage: string): Promise<unknown>;
  /** Receive events until the returned function is called. */
  subscribe(send: (event: EngineEvent) => void): () => void;
}

/** A JSON-RPC error: code and message. */
export class RpcError extends Error {
  /** JSON-RPC error code. */
  readonly code: number;

  /** An error with `code` (see JSON-RPC 2.0 §5.1). */
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

/** JSON-RPC 2.0 error codes. */
export const RPC = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
} as const;

const encoder = new TextEncoder();

type Id = string | number | null;

interface Request {
  readonly jsonrpc: "2.0";
  readonly id?: Id;
  readonly method: string;
  readonly params?: unknown;
}

/** A running agent socket. */
export class AgentServer {
  readonly #listener: Deno.Listener;
  readonly #path: string;
  readonly #handler: AgentHandler;
  readonly #connections = new Set<Deno.Conn>();
  #closed = false;

  private constructor(listener: Deno.Listener, path: string, handler: AgentHandler) {
    this.#listener = listener;
    this.#path = path;
    this.#handler = handler;
  }

  /**
   * Listen on `path`. A socket file left by a killed process is removed; a
   * socket that still answers belongs to a live agent, which is an error.
   */
  static async listen(path: string, handler: AgentHandler): Promise<AgentServer> {
    await removeStaleSocket(path);
    const listener = Deno.listen({ transport: "unix", path });
    const server = new AgentServer(listener, path, handler);
    server.#accept();
    return server;
  }

  /** The socket path. */
  get path(): string {
    return this.#path;
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        this.#connections.add(conn);
        this.#serve(conn).finally(() => this.#connections.delete(conn));
      }
    } catch {
      // listener closed
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    let unsubscribe: (() => void) | undefined;
    let writing = Promise.resolve();
    const send = (value: unknown) => {
      const data = encoder.encode(JSON.stringify(value) + "\n");
      // Serialise writes: a response and an event must not interleave.
      writing = writing.then(() => writeAll(conn, data)).catch(() => {});
      return writing;
    };
    try {
      const lines = conn.readable.pipeThrough(new TextDecoderStream()).pipeThrough(lineSplitter());
      for await (const line of lines) {
        if (line.trim() === "") continue;
        const reply = await this.#handleLine(line, () => {
          unsubscribe ??= this.#handler.subscribe((event) =>
            send({ jsonrpc: "2.0", method: "event", params: event })
          );
        });
        if (reply !== undefined) await send(reply);
      }
    } catch {
      // the client went away
    } finally {
      unsubscribe?.();
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }

  async #handleLine(line: string, subscribe: () => void): Promise<unknown> {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      return errorReply(null, new RpcError(RPC.parseError, "parse error: not JSON"));
    }
    if (Array.isArray(message)) {
      if (message.length === 0) {
        return errorReply(null, new RpcError(RPC.invalidRequest, "empty batch"));
      }
      const replies = [];
      for (const item of message) {
        const reply = await this.#handleOne(item, subscribe);
        if (reply !== undefined) replies.push(reply);
      }
      return replies.length > 0 ? replies : undefined;
    }
    return await this.#handleOne(message, subscribe);
  }

  async #handleOne(message: unknown, subscribe: () => void): Promise<unknown> {
    if (!isRequest(message)) {
      const id = typeof message === "object" && message !== null && "id" in message
        ? (message as { id: Id }).id ?? null
        : null;
      return errorReply(
        id,
        new RpcError(RPC.invalidRequest, "invalid request: expected {jsonrpc: '2.0', method, id?}"),
      );
    }
    const isNotification = !("id" in message);
    try {
      const result = await this.#dispatch(message.method, message.params, subscribe);
      return isNotification ? undefined : { jsonrpc: "2.0", id: message.id ?? null, result };
    } catch (error) {
      if (isNotification) return undefined;
      const rpcError = error instanceof RpcError
        ? error
        : new RpcError(RPC.internalError, (error as Error)?.message ?? String(error));
      return errorReply(message.id ?? null, rpcError);
    }
  }

  #dispatch(method: string, params: unknown, subscribe: () => void): Promise<unknown> {
    const record = (params ?? {}) as Record<string, unknown>;
    if (
      params !== undefined &&
      (typeof params !== "object" || params === null || Array.isArray(params))
    ) {
      throw new RpcError(RPC.invalidParams, "params must be an object");
    }
    switch (method) {
      case "run": {
        const { stages, force } = record;
        if (
          stages !== undefined &&
          (!Array.isArray(stages) || !stages.every((s) => typeof s === "string"))
        ) {
          throw new RpcError(RPC.invalidParams, "stages must be a list of stage names");
        }
        if (force !== undefined && typeof force !== "boolean") {
          throw new RpcError(RPC.invalidParams, "force must be a boolean");
        }
        return this.#handler.run({ stages: stages as string[] | undefined, force });
      }
      case "cancel":
        return this.#handler.cancel();
      case "status":
        return this.#handler.status();
      case "stages":
        return this.#handler.stages();
      case "explain": {
        if (typeof record.stage !== "string") {
          throw new RpcError(RPC.invalidParams, "explain needs {stage: name}");
        }
        return this.#handler.explain(record.stage);
      }
      case "subscribe":
        subscribe();
        return Promise.resolve({ subscribed: true });
      default:
        throw new RpcError(
          RPC.methodNotFound,
          `method not found: ${method} (run, cancel, status, stages, explain, subscribe)`,
        );
    }
  }

  /** Stop listening, close connections and remove the socket file. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    for (const conn of this.#connections) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
    try {
      Deno.removeSync(this.#path);
    } catch {
      // already gone
    }
  }
}

function isRequest(message: unknown): message is Request {
  if (typeof message !== "object" || message === null || Array.isArray(message)) return false;
  const m = message as Record<string, unknown>;
  const idOk = !("id" in m) || m.id === null || typeof m.id === "string" ||
    typeof m.id === "number";
  return m.jsonrpc === "2.0" && typeof m.method === "string" && idOk;
}

function errorReply(id: Id, error: RpcError): unknown {
  return { jsonrpc: "2.0", id, error: { code: error.code, message: error.message } };
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let rest = data;
  while (rest.length > 0) rest = rest.subarray(await conn.write(rest));
}

function lineSplitter(): TransformStream<string, string> {
  let buffer = "";
  return new TransformStream({
    transform(chunk, controller) {
      buffer += chunk;
      let newline = buffer.indexOf("\n");
      while (newline >= 0) {
        controller.enqueue(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf("\n");
      }
    },
    flush(controller) {
      if (buffer !== "") controller.enqueue(buffer);
    },
  });
}

async function removeStaleSocket(path: string): Promise<void> {
  try {
    Deno.lstatSync(path);
  } catch {
    return; // nothing there
  }
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
    throw new RpcError(
      RPC.internalError,
      `another pivot agent is listening on ${path}: stop it first`,
    );
  } catch (error) {
    if (error instanceof RpcError) throw error;
    Deno.removeSync(path); // no one answers: left by a killed process
  }
}
