/**
 * Interim code fingerprint until the TypeScript analysis lands: the whole
 * pipeline module's text. Same signature as the real one.
 *
 * @module
 */

import { hashBytes } from "../storage/hash.ts";
import type { StageDef } from "../pipeline/stage_def.ts";
import type { StateStore } from "../storage/state.ts";
import { fromFileUrl } from "../paths.ts";

/** Options (see lib/fingerprint). */
export interface FingerprintOptions {
  /** Project root. */
  projectRoot: string;
  /** User's deno.json. */
  denoConfig: string | undefined;
  /** Pivot's own source root. */
  pivotRoot: string;
  /** State store. */
  state: StateStore;
}

/** Where a manifest entry is. */
export interface ManifestLocation {
  /** Project-relative file. */
  file: string;
  /** 1-based line. */
  line: number;
}

/** A stage's manifest. */
export interface StageFingerprint {
  /** Key → hash. */
  manifest: Record<string, string>;
  /** Key → location. */
  locations: Record<string, ManifestLocation>;
}

/** Fingerprint every stage. */
export async function fingerprintStages(
  stages: readonly StageDef[],
  _options: FingerprintOptions,
): Promise<Map<string, StageFingerprint>> {
  const result = new Map<string, StageFingerprint>();
  for (const stage of stages) {
    const text = await Deno.readTextFile(fromFileUrl(stage.code.moduleUrl));
    result.set(stage.name, {
      manifest: { "self:": await hashBytes(text) },
      locations: { "self:": { file: stage.code.moduleUrl, line: 1 } },
    });
  }
  return result;
}
