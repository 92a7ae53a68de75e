/** Argument checks shared by the method packages: the messages name function, argument and shapes. */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { assertBinary, assertRank, assertSameShape, shapeText } from './checks.js';

describe('checks', () => {
  it('formats shapes as [a, b]', () => {
    expect(shapeText([2, 3])).toBe('[2, 3]');
    expect(shapeText([])).toBe('[]');
  });

  it('assertRank names the layout and the shape it got', () => {
    tf.tidy(() => {
      expect(() => assertRank('f', 'x', tf.zeros([4]), 2, '[B, H]')).toThrow(
        'f: x must be [B, H] (rank 2), got shape [4]',
      );
      expect(() => assertRank('f', 'x', tf.zeros([2, 4]), 2, '[B, H]')).not.toThrow();
    });
  });

  it('assertSameShape names both arguments and shapes', () => {
    tf.tidy(() => {
      expect(() => assertSameShape('f', 'labels', tf.zeros([2, 3]), 'logits', tf.zeros([2, 4]))).toThrow(
        'f: labels shape [2, 3] must equal logits shape [2, 4]',
      );
      expect(() => assertSameShape('f', 'a', tf.zeros([2, 3]), 'b', tf.zeros([3, 2]))).toThrow(/\[3, 2\]/);
      expect(() => assertSameShape('f', 'a', tf.zeros([2, 3]), 'b', tf.ones([2, 3]))).not.toThrow();
    });
  });

  it('assertBinary reports the first offending value and where it is', () => {
    tf.tidy(() => {
      expect(() => assertBinary('f', 'mask', tf.tensor([0, 1, 0.5, 2]), '1 = valid')).toThrow(
        'f: mask must be in {0, 1} (1 = valid), got 0.5 at flat index 2 of shape [4]',
      );
      expect(() => assertBinary('f', 'mask', tf.tensor([0, 1, 1]), '1 = valid')).not.toThrow();
      expect(() =>
        assertBinary('f', 'y', tf.tensor([true, false], undefined, 'bool'), '1 = closed'),
      ).not.toThrow();
    });
  });
});
