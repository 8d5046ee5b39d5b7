/**
 * The Standard Schema interface (https://standardschema.dev), version 1: what
 * zod, valibot, arktype and others implement. The spec asks libraries to
 * declare the types themselves rather than depend on a package; these are
 * written from it.
 *
 * @module
 */

/**
 * A schema that follows Standard Schema v1, as zod, valibot and arktype
 * schemas do. Pass one as a stage's `params` to validate them: the run
 * function receives the schema's output type.
 *
 * @typeParam Input What the schema accepts.
 * @typeParam Output What it produces.
 *
 * @example Params validated by zod
 * ```ts
 * import { Pipeline, type StandardSchemaV1 } from "jsr:@pivot/core";
 * import { z } from "zod";
 *
 * const params = z.object({ epochs: z.number().int().positive().default(10) });
 * const schema: StandardSchemaV1 = params; // zod schemas are Standard Schemas
 *
 * export const pipeline = new Pipeline("schema_demo");
 * pipeline.stage({
 *   name: "train",
 *   params,
 *   run: (_deps, ctx) => console.log(ctx.params.epochs * 2), // ctx.params.epochs is a number
 * });
 * ```
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The standard properties. */
  readonly "~standard": StandardSchemaV1.Props<Input, Output>;
}

/**
 * The types that make up {@link StandardSchemaV1}, named as the spec names
 * them, for code that validates with any schema library.
 *
 * @example
 * ```ts
 * import type { StandardSchemaV1 } from "jsr:@pivot/core";
 *
 * type Epochs = StandardSchemaV1.InferOutput<StandardSchemaV1<unknown, { epochs: number }>>;
 * const value: Epochs = { epochs: 10 };
 * ```
 */
export declare namespace StandardSchemaV1 {
  /** The standard properties of a schema. */
  export interface Props<Input = unknown, Output = Input> {
    /** Version of the standard. */
    readonly version: 1;
    /** Name of the library. */
    readonly vendor: string;
    /** Validate a value. */
    readonly validate: (value: unknown) => Result<Output> | Promise<Result<Output>>;
    /** Inferred types (types only). */
    readonly types?: Types<Input, Output> | undefined;
  }

  /** The result of validation. */
  export type Result<Output> = SuccessResult<Output> | FailureResult;

  /** A successful validation. */
  export interface SuccessResult<Output> {
    /** The validated (and possibly transformed) value. */
    readonly value: Output;
    /** Absent on success. */
    readonly issues?: undefined;
  }

  /** A failed validation. */
  export interface FailureResult {
    /** What is wrong. */
    readonly issues: ReadonlyArray<Issue>;
  }

  /** One validation problem. */
  export interface Issue {
    /** Message for a human. */
    readonly message: string;
    /** Where in the value. */
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined;
  }

  /** A segment of an issue path. */
  export interface PathSegment {
    /** The key. */
    readonly key: PropertyKey;
  }

  /** Input and output types. */
  export interface Types<Input = unknown, Output = Input> {
    /** Input type. */
    readonly input: Input;
    /** Output type. */
    readonly output: Output;
  }

  /** The output type of a schema. */
  export type InferOutput<Schema extends StandardSchemaV1> = NonNullable<
    Schema["~standard"]["types"]
  >["output"];
}

/** True when `value` implements Standard Schema v1. */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  return (typeof value === "object" || typeof value === "function") && value !== null &&
    "~standard" in value;
}
