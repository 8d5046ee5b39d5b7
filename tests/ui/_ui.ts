/**
 * A real `pivot ui` (or `repro --watch --ui`) child process on a temporary
 * project, for end-to-end tests: started with `--no-open`, its URL read from
 * what it prints, stopped by the test.
 *
 * @module
 */

import { spawnPivot } from "../_project.ts";

/** A running UI server. */
export class UiProcess {
  readonly #child: Deno.ChildProcess;
  /** Everything printed so far (stdout and stderr). */
  output = "";
  /** What it printed on stdout. */
  stdout = "";
  readonly #done: Promise<void>;
  #wake: (() => void) | undefined;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#done = Promise.all([
      this.#read(child.stdout, (text) => this.stdout += text),
      this.#read(child.stderr),
    ]).then(() => {});
  }

  /** Start `pivot ARGS --no-open` (default: `ui`) in `cwd`; resolves once it prints its URL. */
  static start(cwd: string, args: readonly string[] = ["ui"]): Promise<UiProcess> {
    return UiProcess.attach(spawnPivot(cwd, [...args, "--no-open"]));
  }

  /**
   * Follow a `pivot ui` (or `repro --watch --ui`) started elsewhere (from
   * JSR, say), with piped output; resolves once it prints its URL.
   */
  static async attach(child: Deno.ChildProcess, ms = 30_000): Promise<UiProcess> {
    const ui = new UiProcess(child);
    try {
      await ui.until(() => /Pivot UI: http:\/\/\S+/.test(ui.output), "the URL", ms);
    } catch (error) {
      await ui.kill();
      throw error;
    }
    return ui;
  }

  async #read(
    stream: ReadableStream<Uint8Array>,
    also: (text: string) => void = () => {},
  ): Promise<void> {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      this.output += chunk;
      also(chunk);
      this.#wake?.();
    }
  }

  /** The URL it printed, with the token. */
  get url(): string {
    return /Pivot UI: (http:\/\/\S+)/.exec(this.output)![1];
  }

  /** `http://127.0.0.1:PORT`. */
  get origin(): string {
    return new URL(this.url).origin;
  }

  /** The secret token. */
  get token(): string {
    return new URL(this.url).searchParams.get("token")!;
  }

  /** The port. */
  get port(): number {
    return Number(new URL(this.url).port);
  }

  /** A request to the server with the token in a header (`path` starts with `/`). */
  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (!headers.has("authorization")) headers.set("authorization", `token ${this.token}`);
    return fetch(this.origin + path, { ...init, headers });
  }

  /** A JSON API call that must succeed. */
  async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    const response = await this.fetch(path, init);
    const text = await response.text();
    if (!response.ok) throw new Error(`${path}: ${response.status} ${text}`);
    return JSON.parse(text) as T;
  }

  /** Wait until `condition` holds (checked on new output and every 100 ms), or fail after `ms`. */
  async until(condition: () => boolean | Promise<boolean>, what: string, ms = 15_000) {
    const deadline = Date.now() + ms;
    while (!(await condition())) {
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}\noutput:\n${this.output}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Stop with Ctrl-C; resolves with the exit code (killed after 10 s). */
  async stop(): Promise<number> {
    try {
      this.#child.kill("SIGINT");
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, 10_000);
    const status = await this.#child.status;
    clearTimeout(timer);
    await this.#done;
    return status.code;
  }

  /** Kill without ceremony (cleanup after a failure). */
  async kill(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await this.#child.status;
    await this.#done.catch(() => {});
  }
}

/** The events of a server-sent event stream, parsed, with bounded waits. */
export class EventStream {
  readonly messages: Record<string, unknown>[] = [];
  readonly #reader: ReadableStreamDefaultReader<string>;
  readonly #reading: Promise<void>;
  #wake: (() => void) | undefined;

  private constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.pipeThrough(new TextDecoderStream()).getReader();
    this.#reading = this.#read();
  }

  /** Open `GET /api/events` of `ui`. */
  static async open(ui: UiProcess): Promise<EventStream> {
    const response = await ui.fetch("/api/events");
    if (!response.ok || !response.body) throw new Error(`events: ${response.status}`);
    return new EventStream(response.body);
  }

  async #read(): Promise<void> {
    let buffer = "";
    try {
      while (true) {
        const { value, done } = await this.#reader.read();
        if (done) break;
        buffer += value;
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split("\n").filter((l) => l.startsWith("data: "))
            .map((l) => l.slice(6)).join("\n");
          if (data) this.messages.push(JSON.parse(data));
          end = buffer.indexOf("\n\n");
        }
        this.#wake?.();
      }
    } catch {
      // closed
    }
  }

  /** The first message (from index `from`) matching `match`; fails after `ms`. */
  async next(
    match: (message: Record<string, unknown>) => boolean,
    what: string,
    from = 0,
    ms = 15_000,
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + ms;
    while (true) {
      const found = this.messages.slice(from).find(match);
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(`no ${what} in ${JSON.stringify(this.messages).slice(0, 4000)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Close the stream. */
  async close(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
    await this.#reading;
  }
}
