/**
 * The page's requests to its server (same origin; the cookie set on the
 * first visit carries the token).
 *
 * @module
 */

import type { Direction, Layout } from "../layout.ts";
import type { MetricsView, RunRequest, StageDetail } from "../protocol.ts";

/** An API call that failed, with the server's message. */
export class ApiError extends Error {
  /** HTTP status. */
  readonly status: number;

  /** An error for `status` with the server's `message`. */
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

async function call<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(path, { credentials: "same-origin", ...init });
  const body = await response.json().catch(() => ({})) as { error?: string };
  if (!response.ok) {
    throw new ApiError(response.status, body.error ?? `${response.status} ${response.statusText}`);
  }
  return body as T;
}

function post<T>(path: string, body: unknown): Promise<T> {
  return call<T>(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** The stage panel's content. */
export function fetchStage(name: string): Promise<StageDetail> {
  return call<StageDetail>(`/api/stage?name=${encodeURIComponent(name)}`);
}

/** Every metric, in the workspace and at HEAD. */
export function fetchMetrics(): Promise<MetricsView> {
  return call<MetricsView>("/api/metrics");
}

/** The layout of the current graph (its `version`) in `direction`. */
export function fetchLayout(direction: Direction): Promise<{ version: number; layout: Layout }> {
  return call(`/api/layout?direction=${direction}`);
}

/** Queue a wave: `stages` with their stale upstream (all stages when absent). */
export function runStages(request: RunRequest): Promise<{ queued: boolean; running: boolean }> {
  return post("/api/run", request);
}

/** Cancel the running wave. */
export function cancelWave(): Promise<{ cancelled: boolean }> {
  return post("/api/cancel", {});
}
