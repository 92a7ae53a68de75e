/**
 * The shipped checkpoint (apps/train/pretrained/gr1-small-sim) must be what the full demo's recipe makes:
 * its recipe.json records the demo's training config and its config.json the policy that config builds.
 * Changing the demo's plan without regenerating the checkpoint fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_PLANS, demoPlan, demoTrainConfig, PRETRAINED_CHECKPOINT } from './demo.js';
import { buildPolicyConfig } from './train.js';

const read = (f: string) => JSON.parse(readFileSync(join(PRETRAINED_CHECKPOINT, f), 'utf8'));

describe('shipped checkpoint', () => {
  it("records the full demo's training config and holds the policy it builds", () => {
    const cfg = demoTrainConfig(DEMO_PLANS.full, '<run>');
    const recipe = read('recipe.json');
    expect(recipe.trainConfig).toEqual(JSON.parse(JSON.stringify(cfg)));
    expect(read('config.json')).toMatchObject(JSON.parse(JSON.stringify(buildPolicyConfig(cfg))));
    // The plan the demo ran (data, steps, ranks, evaluation size), and its held-out results as printed:
    // the plan's seeds per task from 1,000,000.
    expect(recipe.plan).toEqual(JSON.parse(JSON.stringify(DEMO_PLANS.full)));
    expect(recipe.heldOutEval.episodesPerTask).toBe(DEMO_PLANS.full.evalEpisodes);
    expect(recipe.heldOutEval.seedOffset).toBe(1_000_000);
  });

  it('is evaluated by the quick GR-1 small demo only; other quick demos evaluate what they trained', () => {
    expect(demoPlan(true).pretrained).toBe(PRETRAINED_CHECKPOINT);
    expect(demoPlan(true, 'xvla').pretrained).toBeUndefined();
    expect(demoPlan(true, 'gr1', 'tiny').pretrained).toBeUndefined();
    expect(demoPlan(true, 'xvla').anchorSteps).toBe(DEMO_PLANS.quick.anchorSteps);
    expect(demoPlan(false)).toBe(DEMO_PLANS.full);
    expect(demoPlan(false, 'xvla')).toBe(DEMO_PLANS.fullXvla);
  });
});
