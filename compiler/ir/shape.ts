// Shape arithmetic over symbolic dimensions (numbers, or names like 'B', 'H').
import type { Dim, Shape } from './types.js';

export class ShapeError extends Error {}

export function dimToString(d: Dim): string {
  return typeof d === 'number' ? String(d) : d;
}

export function shapeToString(s: Shape): string {
  return `[${s.map(dimToString).join(', ')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The sum of two dimensions: numeric when both are numbers, else a symbolic expression. */
export function addDims(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (a === 0) return b;
  if (b === 0) return a;
  return `${dimToString(a)}+${dimToString(b)}`;
}

/** numpy broadcasting: align trailing axes; each pair equal or one of them 1. */
export function broadcastShapes(a: Shape, b: Shape): Shape {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else throw new ShapeError(`cannot broadcast ${shapeToString(a)} with ${shapeToString(b)}`);
  }
  return out;
}

/** Resolves symbolic dimensions with a binding; throws when one is unbound. */
export function concreteShape(s: Shape, bind: Readonly<Record<string, number>>): number[] {
  return s.map((d) => {
    if (typeof d === 'number') return d;
    if (d.includes('+')) return d.split('+').reduce((acc, part) => acc + resolveAtom(part, bind), 0);
    return resolveAtom(d, bind);
  });
}

function resolveAtom(d: string, bind: Readonly<Record<string, number>>): number {
  if (/^\d+$/.test(d)) return Number(d);
  const v = bind[d];
  if (v === undefined) throw new ShapeError(`dimension ${d} has no value`);
  return v;
}

/**
 * Axes to sum so that a tensor of shape `from` becomes `to` (the inverse of
 * broadcasting `to` up to `from`): leading extra axes, and axes where `to`
 * has a literal 1. Works on actual (numeric) shapes and on static ones.
 */
export function reductionAxes(from: readonly Dim[], to: readonly Dim[]): { lead: number; ones: number[] } {
  const lead = from.length - to.length;
  const ones: number[] = [];
  for (let i = 0; i < to.length; i++) {
    if (to[i] === 1 && from[lead + i] !== 1) ones.push(lead + i);
  }
  return { lead, ones };
}
