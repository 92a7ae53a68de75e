import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { AdamW } from './adamw.js';
import { isNoDecayParam, noDecayRule } from './params.js';

/** A variable owning its data: tf.variable() leaves the initial tensor alive, so dispose it here. */
function variable(initial: tf.Tensor): tf.Variable {
  const v = tf.variable(initial);
  initial.dispose();
  return v;
}

describe('param groups', () => {
  it('isNoDecayParam: rank < 2, embedding and norm names', () => {
    const matrix = variable(tf.zeros([2, 2]));
    const vector = variable(tf.zeros([2]));
    const cases: Array<[string, tf.Variable, boolean]> = [
      ['blocks.0.attn.q_proj.weight', matrix, false],
      ['blocks.0.attn.q_proj.bias', vector, true],
      ['blocks.0.ln_1.weight', vector, true],
      ['tok_embed.weight', matrix, true],
      ['time_emb.fc1.weight', matrix, true],
      ['wte.weight', matrix, true],
      ['final_norm.weight', matrix, true],
      ['network.weight', matrix, false],
    ];
    for (const [name, v, expected] of cases) expect(isNoDecayParam(name, v), name).toBe(expected);
    tf.dispose([matrix, vector]);
  });

  it('first matching rule wins; a /g RegExp matches consistently; unmatched go to "default"', () => {
    const vars = ['vision.w', 'vision.b', 'head.w', 'head.x'].map(
      (name) => [name, variable(tf.zeros(name.endsWith('.b') ? [2] : [2, 2]))] as [string, tf.Variable],
    );
    const opt = new AdamW(vars, {
      lr: 1,
      groups: [noDecayRule(), { name: 'backbone', match: /^vision\./g, lrScale: 0.1 }],
    });
    expect(opt.paramGroups()).toEqual([
      { name: 'no_decay', weightDecay: 0, lrScale: 1, params: ['vision.b'] },
      { name: 'backbone', weightDecay: 0.01, lrScale: 0.1, params: ['vision.w'] },
      { name: 'default', weightDecay: 0.01, lrScale: 1, params: ['head.w', 'head.x'] },
    ]);
    expect(() => new AdamW(vars, { lr: 1, groups: [{ name: 'default', match: /x/ }] })).toThrow(
      'AdamW: duplicate param group name "default"',
    );
    opt.dispose();
    tf.dispose(vars.map(([, v]) => v));
  });
});
