/**
 * Two real ranks on localhost (child processes, TCP store on a free port): collectives against
 * hand-computed values, and the faults — a rank that exits, fails, hangs or stalls makes the other stop
 * with a DistributedError naming it. Skipped when the addon is built without gloo.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { distributedAddon } from './addon.js';
import { lastJson, runRanks } from './test-utils/spawn.js';

const worker = join(import.meta.dirname, 'test-utils', 'rank-worker.ts');
const gloo = distributedAddon()?.features().gloo ?? false;

interface Fault {
  error: string;
  kind: string;
  culprit?: number;
  ms: number;
}

describe.skipIf(!gloo)('ProcessGroup, 2 ranks on localhost', () => {
  it('all-reduce (sum, mean) at 1 / 1000 / 300001 floats, broadcast, broadcastBytes, barrier, fusion buffer', async () => {
    const res = await runRanks(worker, 2, { SCENARIO: 'collectives' });
    for (const r of res) {
      expect(r.code, r.stderr).toBe(0);
      const o = lastJson<Record<string, unknown>>(r);
      // values (r+1)·(i mod 7) summed over r = 0, 1: 3·(i mod 7); mean 1.5·(i mod 7)
      expect(o.sum1000).toEqual([0, 3, 15]);
      expect(o.mean1000).toEqual([0, 1.5, 7.5]);
      expect(o.sum300001).toEqual([0, 3, 3 * (300_000 % 7)]);
      expect(o.mean300001).toEqual([0, 1.5, 1.5 * (300_000 % 7)]);
      expect(o.sum1).toEqual([0, null, 0]);
      expect(o.broadcast).toEqual([11, 12, 13]); // root 1's values
      expect(o.bytes).toBe('hello from rank 0');
      const f = o.fusion as { a: number[]; b: number[]; stats: number[]; weight: number; calls: number };
      // Σ w·g / Σ w with w = 1, 2: a = (1·[1,2,3] + 2·[2,4,6]) / 3; b = (1·0 + 2·10) / 3; s = (100 + 400) / 3
      expect(f.a[0]).toBeCloseTo(5 / 3, 6);
      expect(f.a[1]).toBeCloseTo(10 / 3, 6);
      expect(f.a[2]).toBeCloseTo(5, 6);
      expect(f.b[0]).toBeCloseTo(20 / 3, 6);
      expect(f.stats[0]).toBeCloseTo(500 / 3, 4);
      expect(f.weight).toBe(3);
      expect(f.calls).toBe(2); // 8-byte buckets: 'a' alone, 'b' + the weight/statistics tail
    }
  });

  it('rendezvous through a FileStore folder instead of the TCP store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-filestore-'));
    try {
      const res = await runRanks(worker, 2, { SCENARIO: 'collectives', STORE_DIR: dir });
      for (const r of res) {
        expect(r.code, r.stderr).toBe(0);
        expect(lastJson<{ sum1000: number[] }>(r).sum1000).toEqual([0, 3, 15]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const cases: Array<[string, number, string, RegExp]> = [
    ['exit', 1, 'peer-exited', /rank 1 exited/],
    ['exit', 0, 'peer-exited', /rank 0 (exited|is unreachable)/],
    ['fail', 1, 'peer-failed', /rank 1 failed: loss became NaN at step 4/],
    ['hang', 1, 'peer-hung', /rank 1 stopped responding/],
    ['stall', 1, 'timeout', /rank 1 did not reach this collective/],
  ];
  it.each(cases)(
    '%s of rank %i: the other rank stops with an error naming it',
    async (scenario, bad, kind, re) => {
      const res = await runRanks(worker, 2, {
        SCENARIO: scenario,
        FAULT_RANK: String(bad),
        OP_TIMEOUT_MS: '2000',
      });
      const other = res[1 - bad];
      expect(other.code, other.stderr).toBe(2);
      const f = lastJson<Fault>(other);
      expect(f.kind).toBe(kind);
      expect(f.culprit).toBe(bad);
      expect(f.error).toMatch(re);
      expect(f.ms).toBeLessThan(10_000); // within the 2 s op timeout / 1.5 s liveness timeout plus start-up
    },
  );
});
