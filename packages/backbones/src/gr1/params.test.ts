import { Rng } from '@anchor-refine/nn';
import { describe, expect, it } from 'vitest';
import { gr1Config } from './config.js';
import { Gr1Head } from './head.js';
import { Gr1Backbone } from './model.js';

// Figures from research/gr1-libero-calvin.md §1.7 (computed from ByteDance's module shapes).
const MAE_VIT_B16 = 85_798_656;
const RESAMPLER = 18_897_408;
const CLIP_TEXT = 63_428_097 - 1; // the tower without CLIP's logit_scale
const GPT2_12 = 21_294_720 - 384; // without the unused wte row
const EMBEDDINGS = 1_689_984; // state/lang/img/patch + timestep + embed_ln + 21 query rows
const ACTION_HEAD = 112_327;

describe('GR-1 paper config parameter counts', () => {
  it('matches the research figures block by block', () => {
    const cfg = gr1Config('paper');
    const bb = new Gr1Backbone(cfg);
    const trunk = bb.createTrunk({ depth: cfg.depth, seed: 1 });
    const head = new Gr1Head({ dim: 384, hidden: 192, armDim: 6, activation: 'none', rng: new Rng(2) });
    try {
      expect(bb.vision.numParameters()).toBe(MAE_VIT_B16);
      expect(bb.resampler.numParameters()).toBe(RESAMPLER);
      expect(bb.text.numParameters()).toBe(CLIP_TEXT);
      const named = Object.fromEntries(trunk.namedParameters().map(([n, v]) => [n, v.size]));
      const gpt = Object.entries(named)
        .filter(([n]) => n.startsWith('gpt.'))
        .reduce((s, [, n]) => s + n, 0);
      expect(gpt).toBe(GPT2_12);
      // Our embeddings = GR-1's minus embed_ln (lives in the trunk) and the 21 query rows (live in the planner).
      const own = bb.numParameters() - MAE_VIT_B16 - RESAMPLER - CLIP_TEXT;
      expect(own + (named['embed_ln.weight'] ?? 0) + (named['embed_ln.bias'] ?? 0) + 21 * 384).toBe(
        EMBEDDINGS,
      );
      expect(head.numParameters()).toBe(ACTION_HEAD);
      // Frozen pretrained encoders: MAE + CLIP text.
      expect(bb.numParameters({ trainableOnly: true })).toBe(bb.numParameters() - MAE_VIT_B16 - CLIP_TEXT);
    } finally {
      bb.dispose();
      trunk.dispose();
      head.dispose();
    }
  });
});
