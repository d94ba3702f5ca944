/** How the bench prints numbers (the table, the progress lines). */

/** Samples/s: whole numbers, except below 10 (tfjs-cpu's CNN: under one per second). */
export const sps = (v: number) => (v >= 10 ? v.toFixed(0) : v.toPrecision(2));

/** A ratio: 3 significant digits or so, '—' where there is none. */
export const times = (v: number | null) => (v === null ? '—' : `${v >= 100 ? v.toFixed(0) : v >= 0.1 ? v.toFixed(2) : v.toPrecision(2)}×`);

export const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
