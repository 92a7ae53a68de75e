import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Linear } from './layers/linear.js';
import { Module, ModuleList } from './module.js';
import { Rng } from './random.js';

class Block extends Module {
  readonly fc: Linear;
  readonly scale: tf.Variable;
  constructor(rng: Rng) {
    super();
    this.scale = this.registerParameter('scale', () => tf.ones([3]));
    this.fc = this.registerModule('fc', new Linear(3, 3, { rng }));
  }
}

class Net extends Module {
  readonly embed: Linear;
  readonly blocks: ModuleList<Block>;
  readonly head: Linear;
  constructor(seed = 0) {
    super();
    const rng = new Rng(seed);
    this.embed = this.registerModule('embed', new Linear(2, 3, { rng }));
    this.blocks = this.registerModule('blocks', new ModuleList([new Block(rng), new Block(rng)]));
    this.head = this.registerModule('head', new Linear(3, 1, { bias: false, rng }));
    this.registerBuffer('step', () => tf.scalar(0));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let h = this.embed.forward(x);
      for (const b of this.blocks) h = tf.mul(b.fc.forward(h), b.scale);
      return this.head.forward(h);
    });
  }
}

const NAMES = [
  'embed.weight',
  'embed.bias',
  'blocks.0.scale',
  'blocks.0.fc.weight',
  'blocks.0.fc.bias',
  'blocks.1.scale',
  'blocks.1.fc.weight',
  'blocks.1.fc.bias',
  'head.weight',
];

describe('Module', () => {
  it('names parameters with dotted PyTorch state-dict paths', () => {
    const net = new Net();
    expect(net.namedParameters().map(([n]) => n)).toEqual(NAMES);
    expect([...net.stateDict().keys()]).toEqual([...NAMES, 'step']);
    expect(net.namedModules().map(([n]) => n)).toEqual([
      '',
      'embed',
      'blocks',
      'blocks.0',
      'blocks.0.fc',
      'blocks.1',
      'blocks.1.fc',
      'head',
    ]);
    expect(net.parameters()).toHaveLength(NAMES.length);
    expect(net.numParameters()).toBe(9 + 2 * (3 + 12) + 3);
    net.dispose();
  });

  it('gives tfjs variables unique names across instances', () => {
    const a = new Net();
    const b = new Net();
    const names = [...a.parameters(), ...b.parameters()].map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    expect(a.embed.weight.name).toMatch(/^Linear_\d+\/weight$/);
    a.dispose();
    b.dispose();
  });

  it('stateDict returns the live variables', () => {
    const net = new Net();
    const sd = net.stateDict();
    expect(sd.get('head.weight')).toBe(net.head.weight);
    net.dispose();
  });

  it('loadStateDict copies values and round-trips between models', () => {
    const a = new Net(1);
    const b = new Net(2);
    const res = b.loadStateDict(a.stateDict());
    expect(res).toEqual({ missingKeys: [], unexpectedKeys: [] });
    for (const [name, v] of a.stateDict()) {
      expect(Array.from(b.stateDict().get(name)!.dataSync())).toEqual(Array.from(v.dataSync()));
    }
    // Loaded variables are independent of the source once it is disposed.
    a.dispose();
    expect(b.head.weight.dataSync()).toHaveLength(3);
    b.dispose();
  });

  it('loadStateDict names missing, unexpected and mis-shaped keys and changes nothing on failure', () => {
    const net = new Net();
    const before = Array.from(net.embed.weight.dataSync());
    const bad = new Map<string, tf.Tensor>();
    for (const [k, v] of net.stateDict()) if (k !== 'head.weight') bad.set(k, tf.zerosLike(v));
    bad.get('blocks.0.fc.weight')!.dispose();
    bad.set('blocks.0.fc.weight', tf.zeros([3, 4]));
    bad.set('extra.bias', tf.zeros([1]));
    let message = '';
    try {
      net.loadStateDict(bad);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('Missing key(s): head.weight');
    expect(message).toContain('Unexpected key(s): extra.bias');
    expect(message).toContain(
      'size mismatch for blocks.0.fc.weight: checkpoint has shape [3, 4], model has [3, 3]',
    );
    expect(Array.from(net.embed.weight.dataSync())).toEqual(before);

    // Non-strict: missing/unexpected are reported, shape mismatches still throw.
    expect(() => net.loadStateDict(bad, { strict: false })).toThrow(/size mismatch/);
    bad.get('blocks.0.fc.weight')!.dispose();
    bad.set('blocks.0.fc.weight', tf.zeros([3, 3]));
    const res = net.loadStateDict(bad, { strict: false });
    expect(res).toEqual({ missingKeys: ['head.weight'], unexpectedKeys: ['extra.bias'] });
    expect(Array.from(net.embed.weight.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    tf.dispose([...bad.values()]);
    net.dispose();
  });

  it('frozen parameters get no gradient from tf.variableGrads', () => {
    const net = new Net();
    net.blocks.at(0).freeze();
    const x = tf.tensor2d([[1, 2]]);
    const { value, grads } = tf.variableGrads(() => tf.sum(net.forward(x)) as tf.Scalar);
    const names = new Map(net.namedParameters().map(([n, v]) => [v.name, n]));
    const got = Object.keys(grads).map((k) => names.get(k));
    expect(got).not.toContain('blocks.0.fc.weight');
    expect(got).not.toContain('blocks.0.scale');
    expect(got).toContain('blocks.1.fc.weight');
    expect(got).toHaveLength(NAMES.length - 3);
    expect(net.numParameters({ trainableOnly: true })).toBe(net.numParameters() - 15);
    tf.dispose([x, value, ...Object.values(grads)]);

    net.unfreeze();
    expect(net.parameters().every((v) => v.trainable)).toBe(true);
    // Buffers stay frozen.
    expect(net.stateDict().get('step')).toHaveProperty('trainable', false);
    net.dispose();
  });

  it('train()/eval() set the mode flag recursively', () => {
    const net = new Net();
    net.eval();
    expect(net.namedModules().every(([, m]) => !m.training)).toBe(true);
    net.train();
    expect(net.blocks.at(1).fc.training).toBe(true);
    net.dispose();
  });

  it('rejects duplicate and dotted names', () => {
    const m = new Module();
    m.registerParameter('w', () => tf.zeros([1]));
    expect(() => m.registerParameter('w', () => tf.zeros([1]))).toThrow(/already registered/);
    expect(() => m.registerModule('a.b', new Module())).toThrow(/no '\.'/);
    m.dispose();
  });

  it('dispose releases every variable', () => {
    const n0 = tf.memory().numTensors;
    const net = new Net();
    expect(tf.memory().numTensors).toBe(n0 + NAMES.length + 1);
    net.dispose();
    expect(tf.memory().numTensors).toBe(n0);
  });
});
