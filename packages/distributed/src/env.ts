/**
 * The rendezvous environment contract of torchrun and Kubeflow's PyTorchJob: RANK, WORLD_SIZE,
 * MASTER_ADDR, MASTER_PORT and LOCAL_RANK. Absent WORLD_SIZE (or WORLD_SIZE=1 without RANK) means a
 * single process; anything half-set or malformed is an error naming the variable.
 */
import { DistributedError } from './errors.js';

export interface DistEnv {
  rank: number;
  worldSize: number;
  localRank: number;
  masterAddr: string;
  masterPort: number;
}

function int(env: NodeJS.ProcessEnv, name: string, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '')
    throw new DistributedError(
      `distributed env: ${name} is not set (needed when WORLD_SIZE is set)`,
      'config',
    );
  if (!/^\d+$/.test(raw.trim()))
    throw new DistributedError(
      `distributed env: ${name}=${JSON.stringify(raw)} is not a non-negative integer`,
      'config',
    );
  const v = Number(raw);
  if (v < min) throw new DistributedError(`distributed env: ${name}=${v} must be ≥ ${min}`, 'config');
  return v;
}

/** The contract from `env`, or undefined for a single process. */
export function readDistEnv(env: NodeJS.ProcessEnv = process.env): DistEnv | undefined {
  if (env.WORLD_SIZE === undefined || env.WORLD_SIZE.trim() === '') {
    if (env.RANK !== undefined && env.RANK.trim() !== '' && env.RANK.trim() !== '0')
      throw new DistributedError(`distributed env: RANK=${env.RANK} is set but WORLD_SIZE is not`, 'config');
    return undefined;
  }
  const worldSize = int(env, 'WORLD_SIZE', 1);
  if (worldSize === 1 && (env.RANK === undefined || env.RANK === '')) return undefined;
  const rank = int(env, 'RANK', 0);
  if (rank >= worldSize)
    throw new DistributedError(`distributed env: RANK=${rank} must be < WORLD_SIZE=${worldSize}`, 'config');
  const masterAddr = env.MASTER_ADDR?.trim() || (worldSize === 1 ? '127.0.0.1' : '');
  if (!masterAddr) throw new DistributedError('distributed env: MASTER_ADDR is not set', 'config');
  const masterPort = worldSize === 1 && !env.MASTER_PORT ? 0 : int(env, 'MASTER_PORT', 1);
  if (masterPort > 65535)
    throw new DistributedError(`distributed env: MASTER_PORT=${masterPort} must be ≤ 65535`, 'config');
  const localRank = env.LOCAL_RANK === undefined || env.LOCAL_RANK === '' ? rank : int(env, 'LOCAL_RANK', 0);
  return { rank, worldSize, localRank, masterAddr, masterPort };
}
