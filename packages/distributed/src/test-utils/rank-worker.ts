/**
 * One rank of the 2-rank tests (scenario in $SCENARIO). Prints one JSON line with what it saw; a
 * DistributedError is printed as {error, kind, culprit, ms}.
 */
import { readDistEnv } from '../env.js';
import { DistributedError } from '../errors.js';
import { FusionBuffer } from '../fusion.js';
import { ProcessGroup } from '../process-group.js';

const env = readDistEnv();
if (!env) throw new Error('rank-worker: no env contract');
const scenario = process.env.SCENARIO ?? 'collectives';
const t0 = Date.now();

async function open(): Promise<ProcessGroup> {
  const fast = {
    heartbeatMs: 200,
    livenessTimeoutMs: 1500,
    timeoutMs: Number(process.env.OP_TIMEOUT_MS ?? 20_000),
  };
  if (process.env.STORE_DIR)
    return ProcessGroup.init({
      ...fast,
      rank: env!.rank,
      size: env!.worldSize,
      store: { kind: 'file', dir: process.env.STORE_DIR },
    });
  return ProcessGroup.fromEnv(env!, fast);
}

async function collectives(pg: ProcessGroup) {
  const r = pg.rank;
  const out: Record<string, unknown> = {};
  for (const n of [1, 1000, 300_001]) {
    const a = Float32Array.from({ length: n }, (_, i) => (r + 1) * (i % 7));
    await pg.allReduce(a, 'sum');
    const b = Float32Array.from({ length: n }, (_, i) => (r + 1) * (i % 7));
    await pg.allReduce(b, 'mean');
    out[`sum${n}`] = [a[0], a[1], a[n - 1]];
    out[`mean${n}`] = [b[0], b[1], b[n - 1]];
  }
  const bc = new Int32Array([r * 10 + 1, r * 10 + 2, r * 10 + 3]);
  await pg.broadcast(bc, 1);
  out.broadcast = Array.from(bc);
  const bytes = await pg.broadcastBytes(
    r === 0 ? new TextEncoder().encode('hello from rank 0') : undefined,
    0,
  );
  out.bytes = new TextDecoder().decode(bytes);
  await pg.barrier();
  // Weighted mean through the fusion buffer: rank r sends g = [r+1, 2(r+1), 3(r+1)] for 'a', [10r] for 'b',
  // weight w = r+1, statistic s = 100(r+1). Small buckets (8 bytes) force one bucket per tensor.
  const fb = new FusionBuffer(
    [
      { name: 'a', size: 3 },
      { name: 'b', size: 1 },
    ],
    1,
    8,
  );
  const red = await fb.reduce(
    pg,
    (name) => (name === 'a' ? [r + 1, 2 * (r + 1), 3 * (r + 1)] : [10 * r]),
    r + 1,
    [100 * (r + 1)],
  );
  out.fusion = {
    a: Array.from(red.grads.get('a')!),
    b: Array.from(red.grads.get('b')!),
    stats: red.stats,
    weight: red.weight,
    calls: red.calls,
  };
  return out;
}

async function main() {
  const pg = await open();
  try {
    if (scenario === 'collectives') {
      const out = await collectives(pg);
      await pg.close();
      console.log(JSON.stringify(out));
      return;
    }
    // Fault scenarios: $FAULT_RANK (default 1) misbehaves at iteration 3 of an all-reduce loop; the
    // other rank reports what it saw. A hang/stall lasts 3 s, then that rank runs on into the broken mesh.
    const bad = Number(process.env.FAULT_RANK ?? 1);
    for (let i = 0; ; i++) {
      if (pg.rank === bad && i === 3) {
        if (scenario === 'exit') process.exit(7);
        if (scenario === 'hang') for (const end = Date.now() + 3000; Date.now() < end; ); // event loop blocked
        if (scenario === 'stall') await new Promise((r) => setTimeout(r, 3000)); // alive, never calls
        if (scenario === 'fail') {
          await pg.abort('loss became NaN at step 4');
          process.exit(1);
        }
      }
      await pg.allReduce(new Float32Array(1000).fill(1), 'sum');
      if (i > 200) throw new Error('rank-worker: the fault never surfaced');
    }
  } catch (err) {
    if (!(err instanceof DistributedError)) throw err;
    console.log(
      JSON.stringify({ error: err.message, kind: err.kind, culprit: err.culprit, ms: Date.now() - t0 }),
    );
    process.exit(2);
  }
}

await main();
