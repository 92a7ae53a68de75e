import { describe, expect, it } from 'vitest';
import { type ChunkPrediction, ChunkQueue, TemporalEnsembler } from './queue.js';

const chunk = (arm: number[], prob: number[]): ChunkPrediction => ({
  arm: Float32Array.from(arm),
  gripperProb: Float32Array.from(prob),
  gripper: Uint8Array.from(prob.map((p) => (p > 0.5 ? 1 : 0))),
  horizon: prob.length,
  armDim: arm.length / prob.length,
});

describe('ChunkQueue', () => {
  it('executes the first actionsPerChunk steps of each chunk in order', () => {
    const q = new ChunkQueue(2);
    expect(q.needsChunk).toBe(true);
    q.push(chunk([1, 2, 3], [0.1, 0.9, 0.9]));
    expect(Array.from(q.pop())).toEqual([1, 0]);
    expect(Array.from(q.pop())).toEqual([2, 1]);
    expect(q.needsChunk).toBe(true);
    expect(() => q.pop()).toThrow(/empty/);
    expect(() => new ChunkQueue(0)).toThrow(/actionsPerChunk/);
  });
});

describe('TemporalEnsembler (ACT weights exp(−k·i), oldest first)', () => {
  it('averages every stored prediction for the current step', () => {
    const e = new TemporalEnsembler(0.5);
    const a = e.update(chunk([1, 2, 3], [0.9, 0.9, 0.2]));
    expect(Array.from(a)).toEqual([1, 1]);
    // step 1: A[1] = 2 (w 1) and B[0] = 10 (w e^−0.5); probs 0.9 and 0.1
    const w = Math.exp(-0.5);
    const b = e.update(chunk([10, 20, 30], [0.1, 0.1, 0.1]));
    expect(b[0]).toBeCloseTo((2 + 10 * w) / (1 + w), 5);
    expect(b[1]).toBe((0.9 + 0.1 * w) / (1 + w) > 0.5 ? 1 : 0);
    // step 2: A[2] = 3, B[1] = 20, C[0] = 100
    const c = e.update(chunk([100, 200, 300], [0.9, 0.9, 0.9]));
    expect(c[0]).toBeCloseTo((3 + 20 * w + 100 * w * w) / (1 + w + w * w), 4);
    // step 3: A has expired (horizon 3)
    const d = e.update(chunk([7, 7, 7], [0.9, 0.9, 0.9]));
    expect(d[0]).toBeCloseTo((30 + 200 * w + 7 * w * w) / (1 + w + w * w), 4);
  });
});
