/**
 * The few statistics the analysis needs, written once: means, standard deviations, ordinary
 * least squares of a line and of a parabola, and Student's t quantile. Pure.
 */

export const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;

/** Sample standard deviation (n − 1). */
export function sd(v: readonly number[]): number {
  if (v.length < 2) return 0;
  const m = mean(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
}

/** y ≈ a + b·x by least squares; null when x has no spread. */
export function fitLine(x: readonly number[], y: readonly number[]): { intercept: number; slope: number } | null {
  const xm = mean(x), ym = mean(y);
  let sxx = 0, sxy = 0;
  for (let i = 0; i < x.length; i++) {
    sxx += (x[i] - xm) ** 2;
    sxy += (x[i] - xm) * (y[i] - ym);
  }
  if (!(sxx > 0)) return null;
  return { slope: sxy / sxx, intercept: ym - (sxy / sxx) * xm };
}

/** y ≈ a·x² + b·x + c by least squares (normal equations, Cramer's rule); null when singular. */
export function fitParabola(x: readonly number[], y: readonly number[]): [number, number, number] | null {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, t0 = 0, t1 = 0, t2 = 0;
  x.forEach((xi, i) => {
    const x2 = xi * xi;
    s0 += 1; s1 += xi; s2 += x2; s3 += x2 * xi; s4 += x2 * x2;
    t0 += y[i]; t1 += xi * y[i]; t2 += x2 * y[i];
  });
  const det = (m: number[][]) => m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  const M = [[s4, s3, s2], [s3, s2, s1], [s2, s1, s0]];
  const D = det(M);
  if (!(Math.abs(D) > 1e-12)) return null;
  const col = (j: number, v: number[]) => M.map((row, r) => row.map((e, c) => (c === j ? v[r] : e)));
  const rhs = [t2, t1, t0];
  return [det(col(0, rhs)) / D, det(col(1, rhs)) / D, det(col(2, rhs)) / D];
}

/** Two-sided 97.5% quantiles of Student's t for 1…30 degrees of freedom. */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** t such that P(|T_df| ≤ t) = 95%; the normal 1.96 in the limit (Cornish–Fisher's first term past 30). */
export function t975(df: number): number {
  if (!(df >= 1)) return Infinity;
  const d = Math.floor(df);
  return d <= 30 ? T975[d - 1] : 1.96 + 2.4 / d;
}
