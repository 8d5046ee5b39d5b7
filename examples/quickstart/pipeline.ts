/**
 * The quickstart pipeline: clean raw reviews, count words, fit a tiny
 * sentiment model, and evaluate it.
 *
 * Run it with `deno task demo` from the repository root, or copy this
 * folder, `pivot init` and `pivot repro`.
 *
 * It imports `jsr:@pivot/core` as users do; this repository's deno.json
 * maps that to ./mod.ts (and the demo's project deno.json does the same).
 */
// deno-lint-ignore-file no-import-prefix no-unversioned-import
import { dep, loaders, metric, out, Pipeline } from "jsr:@pivot/core";
import { tokenize } from "./lib/text.ts";
import { score, type Weights } from "./lib/model.ts";

export const pipeline = new Pipeline("quickstart");

type Review = { id: string; text: string; label: string };
type Example = { tokens: string[]; positive: boolean };

pipeline.stage({
  name: "clean",
  deps: { raw: dep("data/reviews.csv", loaders.csv<Review>()) },
  outs: { clean: out("build/clean.json", loaders.json<Review[]>()) },
  run: ({ raw }) => ({ clean: raw.filter((review) => review.text.trim() !== "") }),
});

pipeline.stage({
  name: "featurize",
  deps: { reviews: dep("build/clean.json", loaders.json<Review[]>()) },
  outs: { examples: out("build/examples.jsonl", loaders.jsonl<Example>()) },
  run: ({ reviews }) => ({
    examples: reviews.map((review) => ({
      tokens: tokenize(review.text),
      positive: review.label === "pos",
    })),
  }),
});

pipeline.stage({
  name: "train",
  deps: { examples: dep("build/examples.jsonl", loaders.jsonl<Example>()) },
  outs: { model: out("build/model.json", loaders.json<Weights>()) },
  params: { smoothing: 1 },
  run: train,
});

/** Log-odds of each token appearing in positive vs negative reviews. */
export function train(
  { examples }: { examples: Example[] },
  { params }: { params: { smoothing: number } },
): { model: Weights } {
  const counts = new Map<string, [number, number]>();
  for (const example of examples) {
    for (const token of new Set(example.tokens)) {
      const pair = counts.get(token) ?? [0, 0];
      pair[example.positive ? 0 : 1]++;
      counts.set(token, pair);
    }
  }
  const model: Weights = {};
  for (const [token, [pos, neg]] of counts) {
    model[token] = Math.log((pos + params.smoothing) / (neg + params.smoothing));
  }
  return { model };
}

pipeline.stage({
  name: "evaluate",
  deps: {
    model: dep("build/model.json", loaders.json<Weights>()),
    examples: dep("build/examples.jsonl", loaders.jsonl<Example>()),
  },
  outs: { metrics: metric("build/metrics.json") },
  run: ({ model, examples }) => {
    const correct = examples.filter((e) => (score(model, e.tokens) > 0) === e.positive).length;
    return { metrics: { examples: examples.length, accuracy: correct / examples.length } };
  },
});
