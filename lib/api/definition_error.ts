/**
 * The error a mistake in a pipeline definition throws, in its own module so
 * that every part of the API can throw it without importing the others.
 *
 * @module
 */

/**
 * Thrown by {@link Pipeline} and its methods for a mistake in a pipeline
 * definition: an invalid name, a stage without a run function, a name used
 * twice, a dep or out without a path, an override of an unknown dep or out.
 * The message starts with the file and line of the mistake and says how to
 * fix it.
 *
 * @example
 * ```ts
 * import { Pipeline, PipelineDefinitionError } from "jsr:@pivot/core";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => new Pipeline("no spaces"), PipelineDefinitionError);
 * ```
 */
export class PipelineDefinitionError extends Error {
  /** Always `"PipelineDefinitionError"`. */
  override name = "PipelineDefinitionError";
}
