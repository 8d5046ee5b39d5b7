/**
 * The web UI's HTTP server (`pivot ui`, `repro --watch --ui`): the page and
 * its assets, a JSON API, and the engine's events pushed to every open page
 * as server-sent events. Actions (run, force, cancel) are pushed into the
 * same driver as the agent socket's, so a run started from a page is a wave
 * like any other, and every page sees it.
 *
 * | Request                     | Answer                                              |
 * | --------------------------- | --------------------------------------------------- |
 * | `GET /`                     | the page                                            |
 * | `GET /api/events`           | server-sent events: a snapshot, then changes         |
 * | `GET /api/snapshot`         | the snapshot alone                                  |
 * | `GET /api/layout?direction` | the graph's layout, `TB` or `LR` (by dagre)          |
 * | `GET /api/stage?name=NAME`  | the stage panel's content                           |
 * | `GET /api/metrics`          | every metric, in the workspace and at HEAD           |
 * | `POST /api/run`             | `{stages?, force?}`: queue a wave                    |
 * | `POST /api/cancel`          | cancel the running wave                             |
 * | `GET /plots?rev=REV`        | the `plots show` (or `plots diff` with REV) page     |
 *
 * Every request is checked by {@link RequestGuard} first (token, Host,
 * Origin); a malformed one gets a 4xx, and the server goes on.
 *
 * @module
 */

import type { Driver } from "../engine/driver.ts";
import { messageOf, PivotError } from "../errors.ts";
import { type Asset, loadAssets } from "./assets.ts";
import { Feed } from "./feed.ts";
import { chooseDirection, type Direction } from "./layout.ts";
import { Layouts } from "./layouts.ts";
import { newToken, RequestGuard } from "./guard.ts";
import type { ProjectFacts } from "./live_state.ts";
import type { RunRequest, UiEnvelope, UiMessage } from "./protocol.ts";
import { stageDetail } from "./stage_detail.ts";

/** Options of {@link UiServer.start}. */
export interface UiServerOptions {
  /** The driver every run goes through. */
  readonly driver: Driver;
  /** What the page header shows, and whether changes run stages (`watch`). */
  readonly facts: ProjectFacts;
  /** Address to listen on (default `127.0.0.1`). */
  readonly hostname?: string;
  /** Port (default 0: a free one). */
  readonly port?: number;
}

/** Largest request body accepted (bytes). */
const MAX_BODY = 64 * 1024;
/** A comment line is sent this often so that proxies and browsers keep the stream open (ms). */
const HEARTBEAT_MS = 20_000;
/** A page that falls this many messages behind is disconnected (it reconnects to a snapshot). */
const MAX_BACKLOG = 10_000;

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": "default-src 'self'; img-src 'self' data: blob:; " +
    "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-resource-policy": "same-origin",
};

const encoder = new TextEncoder();

/** A running UI server. */
export class UiServer {
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #guard: RequestGuard;
  readonly #token: string;
  readonly #driver: Driver;
  readonly #feed: Feed;
  readonly #clients = new Set<ReadableStreamDefaultController<Uint8Array>>();
  readonly #heartbeat: ReturnType<typeof setInterval>;
  readonly #layouts = new Layouts();
  readonly #hostname: string;
  #seq = 0;
  #closed = false;

  private constructor(
    server: Deno.HttpServer<Deno.NetAddr>,
    hostname: string,
    token: string,
    driver: Driver,
    facts: ProjectFacts,
  ) {
    this.#server = server;
    this.#hostname = hostname;
    this.#token = token;
    this.#driver = driver;
    this.#guard = new RequestGuard({ token, hostname, port: server.addr.port });
    this.#feed = new Feed(driver, facts, (message) => {
      if (message.type === "snapshot") this.#prepareLayouts();
      this.#broadcast(message);
    });
    this.#prepareLayouts();
    this.#heartbeat = setInterval(() => this.#sendAll(encoder.encode(": ping\n\n")), HEARTBEAT_MS);
    Deno.unrefTimer(this.#heartbeat);
  }

  /**
   * Listen and serve. Resolves once the server accepts connections; the
   * first prediction of stage statuses follows (pages see it arrive).
   * Throws a {@link PivotError} when the address cannot be used.
   */
  static start(options: UiServerOptions): Promise<UiServer> {
    const hostname = options.hostname ?? "127.0.0.1";
    const token = newToken();
    // Requests can only arrive once this function has returned the server.
    const started: { ui?: UiServer } = {};
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = Deno.serve({
        hostname,
        port: options.port ?? 0,
        onListen: () => {},
        onError: (error) => json({ error: `internal error: ${messageOf(error)}` }, 500),
      }, (request, info) => started.ui ? started.ui.#handle(request, info) : unavailable());
    } catch (error) {
      throw new PivotError(listenError(error, hostname, options.port ?? 0), { cause: error });
    }
    const ui = new UiServer(server, hostname, token, options.driver, options.facts);
    started.ui = ui;
    // Assets load in the background: the first page request waits for them.
    loadAssets().catch(() => {});
    ui.#feed.refresh();
    return Promise.resolve(ui);
  }

  /**
   * Start laying out the current graph, both ways, while pages load (the
   * way a wide screen would choose first).
   */
  #prepareLayouts(): void {
    const { graphVersion, stages } = this.#feed.state.snapshot();
    this.#layouts.prepare(graphVersion, stages, chooseDirection(stages, 16 / 10));
  }

  /** The port listened on. */
  get port(): number {
    return this.#server.addr.port;
  }

  /** The URL to open, with the token (as Jupyter prints it). */
  get url(): string {
    const host = this.#hostname === "0.0.0.0" || this.#hostname === "::"
      ? "127.0.0.1"
      : this.#hostname.includes(":")
      ? `[${this.#hostname}]`
      : this.#hostname;
    return `http://${host}:${this.port}/?token=${this.#token}`;
  }

  /** Resolves when the first prediction of every stage's status is in. */
  ready(): Promise<void> {
    return this.#feed.refresh();
  }

  /** Stop: end every event stream, stop listening, stop following the driver. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#feed.close();
    this.#layouts.close();
    for (const client of this.#clients) {
      try {
        client.close();
      } catch {
        // already closed
      }
    }
    this.#clients.clear();
    await this.#server.shutdown();
  }

  #broadcast(message: UiMessage): void {
    if (this.#clients.size === 0) {
      this.#seq++;
      return;
    }
    this.#sendAll(encoder.encode(event(this.#envelope(message))));
  }

  #envelope(message: UiMessage): UiEnvelope {
    return { ...message, seq: ++this.#seq, t: Date.now() };
  }

  #sendAll(data: Uint8Array): void {
    for (const client of this.#clients) {
      if ((client.desiredSize ?? 0) < -MAX_BACKLOG) {
        // Too slow a reader: drop it; its EventSource reconnects to a fresh snapshot.
        this.#clients.delete(client);
        try {
          client.close();
        } catch {
          // already closed
        }
        continue;
      }
      try {
        client.enqueue(data);
      } catch {
        this.#clients.delete(client);
      }
    }
  }

  async #handle(request: Request, _info: Deno.ServeHandlerInfo): Promise<Response> {
    const verdict = this.#guard.check(request);
    if ("status" in verdict) return refuse(request, verdict.status, verdict.message);
    const url = new URL(request.url);
    if (verdict.fromUrl && request.method === "GET" && !url.pathname.startsWith("/api/")) {
      // Trade the token in the URL for the cookie, and drop it from the address bar.
      url.searchParams.delete("token");
      return withHeaders(new Response(null, { status: 303 }), {
        location: url.pathname + url.search,
        "set-cookie": this.#guard.cookie(),
        "cache-control": "no-store",
      });
    }
    try {
      return await this.#route(request, url);
    } catch (error) {
      if (error instanceof HttpError) return json({ error: error.message }, error.status);
      return json({ error: `internal error: ${messageOf(error)}` }, 500);
    }
  }

  async #route(request: Request, url: URL): Promise<Response> {
    const route = `${request.method} ${url.pathname}`;
    switch (route) {
      case "GET /":
      case "HEAD /": {
        const { page } = await loadAssets();
        return send(request, page, "no-store");
      }
      case "GET /api/events":
        return this.#events();
      case "GET /api/snapshot":
        return json(this.#feed.state.snapshot());
      case "GET /api/layout": {
        const direction = url.searchParams.get("direction") ?? "TB";
        if (direction !== "TB" && direction !== "LR") {
          throw new HttpError(400, `direction must be TB or LR, got '${direction}'`);
        }
        const version = this.#layouts.version;
        return json({ version, layout: await this.#layouts.get(version, direction as Direction) });
      }
      case "GET /api/stage": {
        const name = url.searchParams.get("name");
        if (name === null) throw new HttpError(400, "missing ?name=STAGE");
        const seq = this.#seq;
        const detail = await stageDetail(this.#feed.state, this.#driver.context, name, seq);
        if (!detail) throw new HttpError(404, `unknown stage '${name}'`);
        return json(detail);
      }
      case "GET /api/metrics": {
        const { metricsView } = await import("./metrics.ts");
        return json(await metricsView(this.#driver.context));
      }
      case "GET /plots": {
        // The plots page of `pivot plots show|diff`, for the UI's sandboxed frame.
        const rev = url.searchParams.get("rev") ?? undefined;
        if (rev !== undefined && !/^(?!-)[\w./@^~{}-]{1,200}$/.test(rev)) {
          throw new HttpError(400, `not a git revision: '${rev}'`);
        }
        const { plotsFrame } = await import("./plots.ts");
        const frame = await plotsFrame(this.#driver.context, rev);
        return withHeaders(
          new Response(frame.html, {
            status: frame.status,
            headers: { "content-type": "text/html; charset=utf-8" },
          }),
          {
            "cache-control": "no-store",
            // What the page itself allows (Vega compiles expressions with Function), and
            // framing by the UI only.
            "content-security-policy": "default-src 'none'; script-src 'unsafe-inline' " +
              "'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:; font-src data:; " +
              "frame-src data: about:; frame-ancestors 'self'",
            "x-frame-options": "SAMEORIGIN",
          },
        );
      }
      case "POST /api/run":
        return json(this.#run(await readJson(request)));
      case "POST /api/cancel": {
        await readJson(request);
        const running = this.#driver.busy;
        this.#driver.push({ type: "cancel" });
        return json({ cancelled: running });
      }
    }
    const asset = (await loadAssets()).files.get(url.pathname);
    if (asset && (request.method === "GET" || request.method === "HEAD")) {
      return send(request, asset, "private, max-age=31536000, immutable");
    }
    if (asset || API_PATHS.has(url.pathname)) {
      throw new HttpError(405, `${request.method} is not allowed on ${url.pathname}`);
    }
    throw new HttpError(404, `not found: ${url.pathname}`);
  }

  #run(body: unknown): { queued: true; running: boolean } {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new HttpError(400, "expected a JSON object {stages?: [names], force?: boolean}");
    }
    const { stages, force } = body as Record<string, unknown>;
    if (
      stages !== undefined &&
      (!Array.isArray(stages) || !stages.every((s): s is string => typeof s === "string"))
    ) {
      throw new HttpError(400, "stages must be a list of stage names");
    }
    if (force !== undefined && typeof force !== "boolean") {
      throw new HttpError(400, "force must be true or false");
    }
    const unknown = (stages ?? []).filter((name) => !this.#feed.state.has(name));
    if (unknown.length > 0) throw new HttpError(404, `unknown stage '${unknown[0]}'`);
    const request: RunRequest = { ...(stages ? { stages } : {}), force: force === true };
    const running = this.#driver.busy;
    const named = request.stages && request.stages.length > 0 ? request.stages : undefined;
    // Both inputs are queued together, so the driver coalesces them into one
    // wave: the stages with their stale upstream, forcing only the named ones.
    this.#driver.push({ type: "run", ...(named ? { stages: named } : {}) });
    if (request.force) {
      this.#driver.push({
        type: "run",
        ...(named ? { stages: named, exact: true } : {}),
        force: true,
      });
    }
    return { queued: true, running };
  }

  #events(): Response {
    let self: ReadableStreamDefaultController<Uint8Array> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        self = controller;
        const snapshot = this.#envelope({
          type: "snapshot",
          snapshot: this.#feed.state.snapshot(),
        });
        controller.enqueue(encoder.encode(`retry: 1000\n${event(snapshot)}`));
        this.#clients.add(controller);
      },
      cancel: () => {
        if (self) this.#clients.delete(self);
      },
    }, new CountQueuingStrategy({ highWaterMark: 64 }));
    return withHeaders(
      new Response(body, { headers: { "content-type": "text/event-stream; charset=utf-8" } }),
      { "cache-control": "no-store", "x-accel-buffering": "no" },
    );
  }
}

const API_PATHS = new Set([
  "/",
  "/plots",
  "/api/events",
  "/api/snapshot",
  "/api/layout",
  "/api/stage",
  "/api/metrics",
  "/api/run",
  "/api/cancel",
]);

/** An error answered with its status and message. */
class HttpError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function event(envelope: UiEnvelope): string {
  return `id: ${envelope.seq}\ndata: ${JSON.stringify(envelope)}\n\n`;
}

async function readJson(request: Request): Promise<unknown> {
  const type = request.headers.get("content-type") ?? "";
  const length = Number(request.headers.get("content-length") ?? "0");
  if (length > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY} bytes`);
  const text = await request.text();
  if (text.length > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY} bytes`);
  if (text.trim() === "") return {};
  // Only a JSON body: a cross-site form cannot send one without a CORS preflight.
  if (!/^application\/json\b/i.test(type)) {
    throw new HttpError(415, "expected Content-Type: application/json");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "the body is not JSON");
  }
}

function send(request: Request, asset: Asset, cache: string): Response {
  const etag = `"${asset.etag}"`;
  if (request.headers.get("if-none-match") === etag) {
    return withHeaders(new Response(null, { status: 304 }), { etag, "cache-control": cache });
  }
  return withHeaders(
    new Response(request.method === "HEAD" ? null : asset.body, {
      headers: { "content-type": asset.type },
    }),
    { etag, "cache-control": cache },
  );
}

function json(value: unknown, status = 200): Response {
  return withHeaders(
    new Response(JSON.stringify(value), {
      status,
      headers: { "content-type": "application/json; charset=utf-8" },
    }),
    { "cache-control": "no-store" },
  );
}

function refuse(request: Request, status: number, message: string): Response {
  const wantsJson = new URL(request.url, "http://x").pathname.startsWith("/api/");
  if (wantsJson) return json({ error: message }, status);
  return withHeaders(
    new Response(`${message}\n`, {
      status,
      headers: { "content-type": "text/plain; charset=utf-8" },
    }),
    { "cache-control": "no-store" },
  );
}

function unavailable(): Response {
  return json({ error: "starting up" }, 503);
}

function withHeaders(response: Response, headers: Record<string, string>): Response {
  for (const [name, value] of Object.entries({ ...SECURITY_HEADERS, ...headers })) {
    response.headers.set(name, value);
  }
  return response;
}

function listenError(error: unknown, hostname: string, port: number): string {
  if (error instanceof Deno.errors.AddrInUse) {
    return `port ${port} on ${hostname} is in use: pick another with --port, or leave it out for a free one`;
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return `cannot listen on ${hostname}: not an address of this machine (--host)`;
  }
  return `cannot listen on ${hostname}:${port}: ${messageOf(error)}`;
}
