import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../random.js';
import { Embedding, LearnedPositionalEmbedding } from './embedding.js';

describe('Embedding', () => {
  it('gathers rows for ids of any shape', () => {
    const emb = new Embedding(5, 3, { rng: new Rng(0) });
    const ids = tf.tensor2d(
      [
        [0, 4],
        [4, 2],
      ],
      [2, 2],
      'int32',
    );
    const y = emb.forward(ids);
    expect(y.shape).toEqual([2, 2, 3]);
    const table = emb.weight.arraySync() as number[][];
    expect((y.arraySync() as number[][][])[1][0]).toEqual(table[4]);
    tf.dispose([ids, y]);
    emb.dispose();
  });

  it('sends the gradient to the gathered rows (counting repeats)', () => {
    const emb = new Embedding(4, 2, { rng: new Rng(0) });
    const ids = tf.tensor1d([1, 3, 1], 'int32');
    const { value, grads } = tf.variableGrads(() => tf.sum(emb.forward(ids)) as tf.Scalar);
    const g = grads[emb.weight.name];
    expect(Array.from(g.dataSync())).toEqual([0, 0, 2, 2, 0, 0, 1, 1]);
    tf.dispose([ids, value, ...Object.values(grads)]);
    emb.dispose();
  });
});

describe('LearnedPositionalEmbedding', () => {
  it('returns rows offset … offset+T−1 and checks the range', () => {
    const pos = new LearnedPositionalEmbedding(6, 2, { rng: new Rng(0) });
    const y = pos.forward(3, 2);
    expect(y.shape).toEqual([3, 2]);
    expect(y.arraySync()).toEqual((pos.weight.arraySync() as number[][]).slice(2, 5));
    expect(() => pos.forward(5, 2)).toThrow(/exceed maxLen 6/);
    y.dispose();
    pos.dispose();
  });
});
