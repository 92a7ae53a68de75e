import { describe, expect, it } from 'vitest';
import { readDistEnv } from './env.js';

describe('readDistEnv (torchrun / PyTorchJob contract)', () => {
  it('no WORLD_SIZE, or WORLD_SIZE=1 without RANK, is a single process', () => {
    expect(readDistEnv({})).toBeUndefined();
    expect(readDistEnv({ WORLD_SIZE: '1' })).toBeUndefined();
    expect(readDistEnv({ RANK: '0' })).toBeUndefined();
  });

  it('reads every field; LOCAL_RANK defaults to RANK', () => {
    expect(
      readDistEnv({
        RANK: '3',
        WORLD_SIZE: '8',
        MASTER_ADDR: 'node0',
        MASTER_PORT: '29500',
        LOCAL_RANK: '1',
      }),
    ).toEqual({ rank: 3, worldSize: 8, localRank: 1, masterAddr: 'node0', masterPort: 29500 });
    expect(readDistEnv({ RANK: '2', WORLD_SIZE: '4', MASTER_ADDR: 'h', MASTER_PORT: '1' })?.localRank).toBe(
      2,
    );
  });

  it('names the variable that is missing or malformed', () => {
    const base = { RANK: '0', WORLD_SIZE: '2', MASTER_ADDR: 'h', MASTER_PORT: '29500' };
    expect(() => readDistEnv({ ...base, RANK: undefined })).toThrow(/RANK is not set/);
    expect(() => readDistEnv({ ...base, RANK: '2' })).toThrow(/RANK=2 must be < WORLD_SIZE=2/);
    expect(() => readDistEnv({ ...base, WORLD_SIZE: 'two' })).toThrow(/WORLD_SIZE="two"/);
    expect(() => readDistEnv({ ...base, MASTER_ADDR: '' })).toThrow(/MASTER_ADDR is not set/);
    expect(() => readDistEnv({ ...base, MASTER_PORT: undefined })).toThrow(/MASTER_PORT is not set/);
    expect(() => readDistEnv({ ...base, MASTER_PORT: '70000' })).toThrow(/MASTER_PORT=70000/);
    expect(() => readDistEnv({ ...base, WORLD_SIZE: '0' })).toThrow(/WORLD_SIZE=0 must be ≥ 1/);
    expect(() => readDistEnv({ RANK: '1' })).toThrow(/RANK=1 is set but WORLD_SIZE is not/);
  });
});
