/** Stage functions of pivot.yaml: plain functions, testable without Pivot. */

type Row = { x: string; y: string };
type Point = { x: number; y: number };

/** Split the points into two halves by row parity. */
export function split({ rows }: { rows: Row[] }): { a: Point[]; b: Point[] } {
  const points = rows.map((row) => ({ x: Number(row.x), y: Number(row.y) }));
  return {
    a: points.filter((_, i) => i % 2 === 0),
    b: points.filter((_, i) => i % 2 === 1),
  };
}

/** "Fit" a model: the mean slope, reported with the degree it was asked for. */
export function fit(
  { points }: { points: Point[] },
  { params }: { params: { degree: number } },
): { model: { degree: number; slope: number } } {
  const slopes = points.filter((p) => p.x !== 0).map((p) => p.y / p.x);
  const slope = slopes.reduce((sum, s) => sum + s, 0) / Math.max(slopes.length, 1);
  return { model: { degree: params.degree, slope } };
}
