"""Interleaved toolkit-vs-torch benchmark of the `small` GR-1 AnchorRefine policy (one run, all sides).

    cd <checkout> && python3 <this dir>/bench.py [--sections train1,train2,predict,profile]
        [--rounds R] [--steps N] [--predict-n N] [--peers default,passive] [--json out.json]
        [--toolkit-from dist|source]

Sides are long-lived worker processes: the toolkit (tk_worker.mjs: tools/bench/policy.ts's setup) and one
torch worker per OpenMP wait policy (torch_worker.py + gr1_small.py; 'default' = libgomp's spin-then-sleep,
'passive' = OMP_WAIT_POLICY=passive). Each round runs N steps on every side, the order rotating each round,
so all sides see the same machine load. Reported: per-step p50/p99 of each side, ratio = toolkit_p50 /
torch_p50 per torch peer, the median of per-round ratios, CPU-seconds per wall-second, /proc/loadavg
before and after each section. This driver does no compute itself.
"""
import argparse
import json
import os
import statistics as st
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_PY = os.environ.get('TORCH_PY', '/usr/bin/python3')


def load():
    return ' '.join(open('/proc/loadavg').read().split()[:3])


def pct(xs, q):
    return float(np.percentile(np.asarray(xs), q)) if xs else float('nan')


class Worker:
    def __init__(self, name, cmd, env=None):
        self.name = name
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
                                  env={**os.environ, **(env or {})})
        self.info = self._read()

    def _read(self):
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError(f'{self.name} worker exited (rc {self.p.poll()})')
            if line.startswith('{'):
                r = json.loads(line)
                if 'error' in r:
                    raise RuntimeError(f'{self.name} worker: ' + r['error'])
                return r

    def call(self, **msg):
        self.p.stdin.write(json.dumps(msg) + '\n')
        self.p.stdin.flush()
        return self._read()

    def peak_rss_mb(self):
        """VmHWM of the worker process so far (peak resident set)."""
        for line in open(f'/proc/{self.p.pid}/status'):
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024
        return float('nan')

    def close(self):
        try:
            self.p.stdin.write('{"cmd":"quit"}\n')
            self.p.stdin.flush()
            self.p.wait(15)
        except Exception:  # noqa: BLE001
            self.p.kill()


def start_workers(peers, toolkit_from='dist'):
    # tools/tsx-lean.mjs: how the CLIs run the sources (tsx, with tfjs loaded before source maps are on)
    lean = os.path.join(HERE, '..', '..', 'tsx-lean.mjs')
    worker = os.path.join(HERE, 'tk_worker.mjs')
    source = ['node', '--conditions=@anchor-refine/source', '--import', lean, worker]
    # dist: the packages' built JavaScript in plain node, as a library consumer runs them (tk_common.mjs)
    dist = ['node', worker]
    node = dist if toolkit_from == 'dist' else source
    tk_env = {'TOOLKIT_FROM': toolkit_from}
    ws = {'toolkit': Worker('toolkit', node, tk_env)}
    for peer in peers:
        # toolkit variants (experiments): the other way of loading the packages; one thread for the addon
        # pool and OpenBLAS; a larger V8 young generation
        if peer in ('tk-source', 'tk-dist'):
            other = peer[3:]
            ws[peer] = Worker(peer, dist if other == 'dist' else source, {'TOOLKIT_FROM': other})
            continue
        if peer == 'tk-1thread':
            ws[peer] = Worker(peer, node, {**tk_env, 'CORE_TENSORS_THREADS': '1', 'OPENBLAS_NUM_THREADS': '1'})
            continue
        if peer.startswith('tk-semispace'):  # e.g. tk-semispace4, tk-semispace64 (MB)
            ws[peer] = Worker(peer, node[:1] + [f'--max-semi-space-size={peer[len("tk-semispace"):]}'] + node[1:],
                              tk_env)
            continue
        env = {'OMP_WAIT_POLICY': 'passive'} if peer.startswith('passive') else {}
        if peer == 'passive1':
            env.update({'TORCH_PEER_THREADS': '1', 'OPENBLAS_NUM_THREADS': '1'})
        ws[f'torch-{peer}'] = Worker(f'torch-{peer}', [TORCH_PY, os.path.join(HERE, 'torch_worker.py')], env)
    return ws


def interleave(ws, rounds, msg):
    names = list(ws)
    times = {n: [] for n in names}
    rnd = {n: [] for n in names}
    raw = []
    cpu = {n: [0.0, 0.0] for n in names}
    extra = {n: {'sysMs': 0.0, 'minflt': 0, 'gcPauseMs': 0.0, 'steps': 0} for n in names}
    threads = {n: {} for n in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for n in order:
            got = ws[n].call(**msg)
            times[n] += got['times']
            raw += got.get('rawTimes', [])
            rnd[n].append(st.median(got['times']))
            if 'cpuMs' in got:
                cpu[n][0] += got['cpuMs']
                cpu[n][1] += got['wallMs']
                extra[n]['steps'] += len(got['times'])
                extra[n]['sysMs'] += got.get('sysMs', 0)
                extra[n]['minflt'] += got.get('minflt', 0)
                extra[n]['gcPauseMs'] += got.get('gcPauseMsPerStep', 0) * len(got['times'])
                if 'kernelsPerStep' in got:
                    extra[n]['kernels'] = got['kernelsPerStep']
                for k, v in got['threads'].items():
                    threads[n][k] = threads[n].get(k, 0) + v
    out = {n: {'p50': pct(times[n], 50), 'p99': pct(times[n], 99), 'n': len(times[n]),
               'round_p50': rnd[n]} for n in names}
    for n in names:
        if cpu[n][1] > 0:
            out[n]['cores_busy'] = cpu[n][0] / cpu[n][1]  # CPU-seconds per wall-second over the steps
            k = max(1, extra[n]['steps'])
            out[n]['sys_ms_per_step'] = extra[n]['sysMs'] / k
            out[n]['minor_faults_per_step'] = extra[n]['minflt'] / k
            out[n]['gc_pause_ms_per_step'] = extra[n]['gcPauseMs'] / k
            if 'kernels' in extra[n]:
                out[n]['kernels_per_step'] = extra[n]['kernels']
            tot = sum(threads[n].values()) or 1
            out[n]['thread_share'] = {k: round(v / tot, 3) for k, v in
                                      sorted(threads[n].items(), key=lambda kv: -kv[1])[:6]}
    if raw:
        out['toolkit_raw_addon_p50'] = pct(raw, 50)
    for n in names[1:]:
        out[f'ratio_vs_{n}'] = out['toolkit']['p50'] / out[n]['p50']
        out[f'round_ratios_vs_{n}'] = [a / b for a, b in zip(rnd['toolkit'], rnd[n])]
        out[f'ratio_median_of_rounds_vs_{n}'] = st.median(out[f'round_ratios_vs_{n}'])
    return out


def mem_line(ws, res, sec):
    """Where each toolkit worker's memory is after a section (its `mem` command): RSS and its peak so far, the V8
    heap, ArrayBuffers (tensor data, pooled arrays included) and the output-buffer pool's share."""
    for n, w in ws.items():
        if n != 'toolkit' and not n.startswith('tk-'):
            continue
        m = w.call(cmd='mem')
        res.setdefault('memory', {}).setdefault(n, {})[sec] = m
        print(f"  {n} memory after {sec}: RSS {m['rssMb']:.0f} MB (peak {m['hwmMb']:.0f}), V8 heap "
              f"{m['heapUsedMb']:.0f} used / {m['heapTotalMb']:.0f}, ArrayBuffers {m['arrayBuffersMb']:.0f} "
              f"(pool holds {m['poolHeldMb']:.0f}, live tensors {m['tensorMb']:.0f})", flush=True)


def describe(sec, r, names):
    parts = [f"{n} p50 {r[n]['p50']:.1f} p99 {r[n]['p99']:.1f} ms" +
             (f" ({r[n]['cores_busy']:.2f} cores busy)" if 'cores_busy' in r[n] else '') +
             (f", GC {r[n]['gc_pause_ms_per_step']:.1f} ms/step" if 'kernels_per_step' in r[n] else '') +
             (f", {r[n]['kernels_per_step']} kernels/step" if 'kernels_per_step' in r[n] else '') for n in names]
    rat = [f"vs {n}: {r[f'ratio_vs_{n}']:.2f} (rounds median {r[f'ratio_median_of_rounds_vs_{n}']:.2f})"
           for n in names[1:]]
    return f"{sec}: " + ' | '.join(parts) + ' -> ratio toolkit/torch ' + ', '.join(rat) + \
        f"; load {r['load_before']} -> {r['load_after']}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sections', default='train1,train2,predict')
    ap.add_argument('--rounds', type=int, default=6)
    ap.add_argument('--steps', type=int, default=4)
    ap.add_argument('--predict-n', type=int, default=30)
    ap.add_argument('--peers', default='default,passive')
    ap.add_argument('--json')
    ap.add_argument('--preset', choices=['small', 'demo'], default='small',
                    help="small: today's small preset (batch 8, history 2); demo: the full demo's GR-1 (history 1, batch 16)")
    ap.add_argument('--toolkit-from', choices=['dist', 'source'], default='dist',
                    help="dist (default): the built packages (runs `npx tsc -b` first) in plain node, as a library "
                         "consumer runs them; source: the TypeScript sources through tsx, as the CLIs run them "
                         "(tsx's module hooks add a loader thread, ~30 MB). Peer tk-source / tk-dist runs the other "
                         "one beside it.")
    a = ap.parse_args()
    if a.toolkit_from == 'dist' or 'tk-dist' in a.peers.split(','):
        # incremental: seconds when the build is current; the toolkit then runs exactly the checkout's code
        subprocess.run(['npx', 'tsc', '-b'], check=True)
    os.environ['BENCH_PRESET'] = a.preset  # both workers inherit it
    batch_label = 'batch 16, history 1' if a.preset == 'demo' else 'batch 8'
    sections = a.sections.split(',')
    ws = start_workers(a.peers.split(','), a.toolkit_from)
    names = list(ws)
    res = {'workers': {n: w.info for n, w in ws.items()}, 'toolkit_from': a.toolkit_from}
    print(f"toolkit: {'built packages (dist) in plain node' if a.toolkit_from == 'dist' else 'TypeScript sources through tsx'}",
          flush=True)
    try:
        tkb = ws['toolkit'].info.get('backend', {})
        engine = tkb.get('gemmEngine', 'blas')
        tk_gemm = (f"GEMM {engine} ({tkb.get('dnnl')})" if engine == 'dnnl' else f"GEMM {engine}")
        print(f"BLAS: toolkit {tk_gemm}, {tkb.get('blasVendor', '?')} core {tkb.get('blasCore', '?')} | " +
              ' | '.join(f"{n} core {ws[n].info.get('blas', {}).get('core', '?')}" for n in names[1:]) +
              f" | OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; load {load()}", flush=True)
        res['params'] = {n: ws[n].call(cmd='params') for n in names[:2]}
        p = res['params']
        print(f"params: toolkit {p['toolkit']['total']} (phase-1 trainable {p['toolkit']['phase1']}, phase-2 "
              f"{p['toolkit']['phase2']}) | torch {p[names[1]]['total']} (phase-1 {p[names[1]]['phase1']}, "
              f"phase-2 {p[names[1]]['phase2']})", flush=True)
        for sec, phase in (('train1', 'anchor'), ('train2', 'refine')):
            if sec not in sections:
                continue
            for n in names:
                ws[n].call(cmd='train', phase=phase, n=1)  # build + warm-up
            l0 = load()
            r = interleave(ws, a.rounds, {'cmd': 'train', 'phase': phase, 'n': a.steps})
            r['load_before'], r['load_after'] = l0, load()
            res[sec] = r
            print(describe(f'{sec} ({phase}, {batch_label})', r, names), flush=True)
            mem_line(ws, res, sec)
        if 'predict' in sections:
            for n in names:
                ws[n].call(cmd='predict', n=2)
            l0 = load()
            r = interleave(ws, a.rounds, {'cmd': 'predict', 'n': a.predict_n})
            r['load_before'], r['load_after'] = l0, load()
            for n in names[1:]:
                r[f'ratio_p99_vs_{n}'] = r['toolkit']['p99'] / r[n]['p99']
            res['predict'] = r
            print(describe('predict (anchor+refine, 1 obs history)', r, names) + ' | p99 ratios ' +
                  ', '.join(f"{n} {r[f'ratio_p99_vs_{n}']:.2f}" for n in names[1:]), flush=True)
            mem_line(ws, res, 'predict')
        if 'micro' in sections:
            # GEMM replay: the exact BatchMatMul shapes of one toolkit phase-1 step, on both engines
            shapes = ws['toolkit'].call(cmd='gemmshapes', phase='anchor')['shapes']
            gemms = []
            for a_s, b_s, o in shapes:
                (r1, c1), (r2, c2), (m_, n_) = a_s[-2:], b_s[-2:], o[-2:]
                for ta in (False, True):
                    for tb in (False, True):
                        mm, ka = (c1, r1) if ta else (r1, c1)
                        nn, kb = (r2, c2) if tb else (c2, r2)
                        if (mm, nn) == (m_, n_) and ka == kb:
                            break
                    else:
                        continue
                    break
                gemms.append([a_s, b_s, ta, tb])
            flops = sum(2 * float(np.prod(o)) * ((a_s[-2] if ta else a_s[-1])) for (a_s, _, ta, _), (_, _, o) in
                        zip(gemms, shapes))
            l0 = load()
            r = interleave(ws, a.rounds, {'cmd': 'gemmreplay', 'gemms': gemms, 'reps': 3})
            r['load_before'], r['load_after'] = l0, load()
            r['gemms_per_step'], r['gflop_per_step'] = len(gemms), flops / 1e9
            res['gemm_replay'] = r
            print(describe(f'GEMM replay ({len(gemms)} matmuls of one phase-1 step, {flops / 1e9:.2f} GFLOP)', r,
                           names) + f" | toolkit straight addon.gemm, preallocated outputs: p50 "
                  f"{r['toolkit_raw_addon_p50']:.1f} ms", flush=True)
            l0 = load()
            r = interleave(ws, a.rounds, {'cmd': 'dispatch', 'n': 5000, 'reps': 3})
            r['load_before'], r['load_after'] = l0, load()
            res['dispatch'] = r
            print(describe('dispatch of one tiny add (us/op)', r, names), flush=True)
        if 'profile' in sections:
            for phase in ('anchor', 'refine'):
                l0 = load()
                tp = ws['toolkit'].call(cmd='profile', phase=phase, n=3)
                pts = {n: ws[n].call(cmd='profile', phase=phase, n=3) for n in names[1:]}
                res[f'profile_{phase}'] = {'toolkit': tp, **{n: {k: v for k, v in pt.items() if k != 'table'}
                                                             for n, pt in pts.items()},
                                           'load_before': l0, 'load_after': load()}
                print(f"\n## profile {phase}: load {l0} -> {load()}")
                print(f"toolkit: wall {tp['wallMs']:.0f} ms/step (unprofiled), {tp['kernelsPerStep']:.0f} "
                      f"kernels/step, kernel time {tp['kernelMsPerStep']:.0f} ms, native addon time "
                      f"{tp['addonMsPerStep']:.0f} ms in {tp['addonCallsPerStep']:.0f} addon calls; optimizer.step "
                      f"{tp['optimizerStepMs']:.0f} ms; main-thread GC pauses {tp['gcPauseMsPerStep']:.0f} ms; "
                      f"profiled wall {tp['profiledWallMs']:.0f} ms")
                for c, e in sorted(tp['byCat'].items(), key=lambda kv: -kv[1]['ms']):
                    print(f"  {c:28s} {e['calls']:7.0f} kernels {e['ms']:8.1f} ms")
                top = sorted(tp['byName'].items(), key=lambda kv: -kv[1]['ms'])[:16]
                print('  top kernels: ' + ', '.join(f"{k} {v['calls']:.0f}x {v['ms']:.1f}ms" for k, v in top))
                print('  addon fns: ' + ', '.join(f"{k} {v['calls']:.0f}x {v['ms']:.1f}ms" for k, v in
                                                    sorted(tp['addon'].items(), key=lambda kv: -kv[1]['ms'])[:10]))
                for n, pt in pts.items():
                    print(f"{n}: wall {pt['wallMs']:.0f} ms/step, profiler self time {pt['self_ms_per_step']:.0f} "
                          f"ms/step, {pt['aten_ops_per_step']:.0f} aten ops/step ({pt['top_level_aten_ops_per_step']:.0f} top-level), "
                          f"optimizer.step {pt['optimizer_step_ms']:.0f} ms; by category " +
                          ', '.join(f"{k} {v['calls']:.0f}x {v['self_ms']:.1f}ms" for k, v in
                                    sorted(pt['byCat'].items(), key=lambda kv: -kv[1]['self_ms'])))
                    print(pt['table'])
        res['peak_rss_mb'] = {n: ws[n].peak_rss_mb() for n in names}
        print('peak RSS (whole run): ' + ', '.join(f"{n} {v:.0f} MB" for n, v in res['peak_rss_mb'].items()) +
              ' -> ratio ' + ', '.join(f"{res['peak_rss_mb']['toolkit'] / res['peak_rss_mb'][n]:.2f} vs {n}"
                                       for n in names[1:]), flush=True)
    finally:
        for w in ws.values():
            w.close()
    if a.json:
        json.dump(res, open(a.json, 'w'), indent=1)
    return res


if __name__ == '__main__':
    main()
