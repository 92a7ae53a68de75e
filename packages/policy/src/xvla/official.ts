/**
 * AnchorRefine on a released X-VLA: the official denoiser (and Florence-2 encoder) become the frozen anchor,
 * the refiner starts as a copy of its first blocks (phase 2's start), and the Florence-2 BART tokenizer comes
 * from the release's local tokenizer folder. The result saves with `savePolicy` (tokenizer included) and
 * serves with `anchor-refine-deploy serve --checkpoint`.
 */
import {
  loadHfTokenizer,
  loadOfficialSafetensors,
  type OfficialLoadReport,
  type Tokenizer,
  type XvlaCheckpointFlavor,
  xvlaNameMap,
} from '@anchor-refine/backbones';
import { externalTokenizer } from '../any.js';
import type { PolicyStats } from '../stats.js';
import type { XvlaPolicyConfig } from './config.js';
import { XvlaAnchorRefinePolicy } from './policy.js';

export interface OfficialXvlaImport {
  /** The release's model.safetensors (a single file). */
  weights: string;
  /** 'upstream' (2toINF/X-VLA-*) or 'lerobot' (lerobot/xvla-*: same tensors under `model.`). */
  flavor?: XvlaCheckpointFlavor;
  /** The policy config; its backbone must have the checkpoint's shapes (`xvlaPolicyConfig('paper', …)`). */
  config: XvlaPolicyConfig;
  /** Folder with the Florence-2 tokenizer.json (needed when the config uses the Florence-2 encoder). */
  tokenizerDir?: string;
  /** Normalization of the robot's raw arm / state channels (default identity: the release's own units). */
  stats?: PolicyStats;
  /** Refuse a checkpoint with missing or unexpected tensors (default true). */
  strict?: boolean;
}

export async function importOfficialXvla(
  o: OfficialXvlaImport,
): Promise<{ policy: XvlaAnchorRefinePolicy; report: OfficialLoadReport }> {
  const vl = o.config.backbone.config.vl;
  let tokenizer: Tokenizer | undefined;
  const ext = externalTokenizer(o.config); // the Florence-2 encoder's BART tokenizer
  if (ext && vl.kind === 'florence2') {
    if (!o.tokenizerDir)
      throw new Error(
        'importOfficialXvla: the Florence-2 encoder needs tokenizerDir (the release folder holding tokenizer.json)',
      );
    tokenizer = await loadHfTokenizer(o.tokenizerDir, ext);
    if (tokenizer.vocabSize > vl.vocabSize)
      throw new Error(
        `importOfficialXvla: ${o.tokenizerDir}/tokenizer.json has ${tokenizer.vocabSize} ids but backbone.config.vl.vocabSize is ${vl.vocabSize}`,
      );
  }
  const policy = new XvlaAnchorRefinePolicy(o.config, o.stats, { tokenizer });
  try {
    const map = xvlaNameMap(policy, { flavor: o.flavor ?? 'upstream', ourPrefix: 'model.' });
    let report: OfficialLoadReport;
    try {
      report = await loadOfficialSafetensors(o.weights, policy, map, { strict: o.strict ?? true });
    } catch (err) {
      throw new Error(`importOfficialXvla: ${o.weights}: ${(err as Error).message}`);
    }
    if (policy.refiner) policy.beginRefinePhase();
    return { policy, report };
  } catch (err) {
    policy.dispose();
    throw err;
  }
}
