"""Torch side of the interleaved benchmark: one JSON command per stdin line -> one JSON line on stdout
(same protocol as tk_worker.mjs: train / predict / profile / params / quit). Threads: torch.set_num_threads(2);
the OpenMP wait policy is whatever the environment says (OMP_WAIT_POLICY, read when libgomp loads)."""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gr1_small as G  # noqa: E402

torch.set_num_threads(int(os.environ.get('TORCH_PEER_THREADS', '2')))
torch.manual_seed(0)
BATCH = G.synthetic_batch(16 if os.environ.get('BENCH_PRESET') == 'demo' else 8)  # the demo's phase-1 batch
# predict as a control loop: call i sees frames (i, i+1) of a ring of 16 (as tk_worker.mjs does)
RING = [G.observation(4 + k) for k in range(16)]
TICK = [0]


def next_obs():
    TICK[0] += 1
    return [RING[TICK[0] % len(RING)], RING[(TICK[0] + 1) % len(RING)]]

trainers, state = {}, {}


def thread_ticks():
    out = {}
    for tid in os.listdir('/proc/self/task'):
        try:
            s = open(f'/proc/self/task/{tid}/stat').read()
        except OSError:
            continue
        rest = s[s.rindex(')') + 2:].split()
        out[tid] = (s[s.index('(') + 1:s.rindex(')')], int(rest[11]) + int(rest[12]))
    return out


def minflt():
    s = open('/proc/self/stat').read()
    return int(s[s.rindex(')') + 2:].split()[7])


def tick_delta(a, b):
    return {f'{t}:{n}': v - a.get(t, (n, 0))[1] for t, (n, v) in b.items() if v - a.get(t, (n, 0))[1] > 0}


def trainer(phase):
    if phase not in trainers:
        tr = G.Trainer(G.AnchorRefinePolicy(), phase)
        tr.step(BATCH)  # warm-up
        trainers[phase] = tr
    return trainers[phase]


def train(phase, n):
    tr = trainer(phase)
    times = []
    a = thread_ticks()
    f0 = minflt()
    t0s = os.times()
    c0 = time.process_time()
    w0 = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        tr.step(BATCH)
        times.append((time.perf_counter() - t0) * 1e3)
    wall = (time.perf_counter() - w0) * 1e3
    t1s = os.times()
    return {'times': times, 'wallMs': wall, 'cpuMs': (time.process_time() - c0) * 1e3,
            'sysMs': (t1s.system - t0s.system) * 1e3, 'minflt': minflt() - f0,
            'threads': tick_delta(a, thread_ticks())}


def predict(n):
    if 'p' not in state:
        state['p'] = G.AnchorRefinePolicy().eval()
        for _ in range(5):
            state['p'].predict_action_chunk(next_obs())
    times = []
    for _ in range(n):
        obs = next_obs()
        t0 = time.perf_counter()
        state['p'].predict_action_chunk(obs)
        times.append((time.perf_counter() - t0) * 1e3)
    return {'times': times}


def profile(phase, n):
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as tprof
    tr = trainer(phase)
    w0 = time.perf_counter()
    for _ in range(n):
        tr.step(BATCH)
    wall = (time.perf_counter() - w0) * 1e3 / n
    with tprof(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(n):
            tr.step(BATCH)
    ka = prof.key_averages()
    rows = sorted(ka, key=lambda e: -e.self_cpu_time_total)
    GEMM = {'mm', 'addmm', 'bmm', 'matmul', 'linear', 'addmv', 'dot'}
    SOFT = {'_softmax', 'softmax', '_softmax_backward_data'}
    LN = {'native_layer_norm', 'native_layer_norm_backward', 'layer_norm'}
    GELU = {'gelu', 'gelu_backward'}
    VIEW = {'view', 'reshape', 'permute', 'transpose', 't', 'expand', 'copy_', 'contiguous', 'clone', 'cat',
            'slice', 'select', 'index', 'unsqueeze', 'squeeze', 'as_strided', 'chunk', 'split', 'empty',
            'empty_like', 'unbind', 'embedding', 'embedding_backward', 'embedding_dense_backward', 'detach',
            'alias', '_unsafe_view', 'narrow', 'stack', 'zeros', 'zero_', 'fill_', 'resize_', 'empty_strided',
            '_reshape_alias', 'index_select', 'expand_as', 'ones_like', 'zeros_like', 'view_as', 'new_empty',
            'new_zeros', 'lift_fresh', 'to', '_to_copy', 'select_backward', 'slice_backward', 'index_put_',
            '_index_put_impl_', 'new_empty_strided', 'unsafe_split', 'split_with_sizes', 'unsafe_chunk',
            'permute_backward', 'detach_', 'result_type', 'scalar_tensor', 'item', '_local_scalar_dense'}
    cat = {}
    for e in ka:
        k = e.key
        op = k[6:] if k.startswith('aten::') else None
        c = ('scope (not an op)' if op is None else 'gemm' if op in GEMM else 'softmax' if op in SOFT else
             'layernorm' if op in LN else 'gelu' if op in GELU else 'view/copy/alloc' if op in VIEW else
             'elementwise/reduction/optimizer math')
        cat.setdefault(c, [0, 0.0])
        cat[c][0] += e.count / n
        cat[c][1] += e.self_cpu_time_total / n / 1e3
    ev = prof.events()
    top_level = sum(1 for e in ev if e.name.startswith('aten::') and
                    (e.cpu_parent is None or not e.cpu_parent.name.startswith('aten::'))) / n
    opt_ms = sum(e.cpu_time_total for e in ka if e.key.startswith('Optimizer.step')) / n / 1e3
    return {'wallMs': wall, 'self_ms_per_step': sum(e.self_cpu_time_total for e in ka) / n / 1e3,
            'aten_ops_per_step': sum(e.count for e in ka if e.key.startswith('aten::')) / n,
            'top_level_aten_ops_per_step': top_level, 'optimizer_step_ms': opt_ms,
            'byCat': {k: {'calls': v[0], 'self_ms': v[1]} for k, v in cat.items()},
            'top': [{'op': e.key, 'calls': e.count / n, 'self_ms': e.self_cpu_time_total / n / 1e3,
                     'total_ms': e.cpu_time_total / n / 1e3} for e in rows[:12]],
            'table': ka.table(sort_by='self_cpu_time_total', row_limit=10)}


def handle(m):
    c = m['cmd']
    if c == 'train':
        return train(m['phase'], m['n'])
    if c == 'predict':
        return predict(m['n'])
    if c == 'profile':
        return profile(m['phase'], m.get('n', 3))
    if c == 'gemmreplay':
        mats = []
        for a_s, b_s, ta, tb in m['gemms']:
            # tfjs hands BatchMatMul 3-D inputs; batch 1 with a shared B is one plain GEMM there, so 2-D here
            if a_s[0] == 1 and b_s[0] == 1:
                a_s, b_s = a_s[1:], b_s[1:]
            a, b = torch.randn(a_s), torch.randn(b_s)
            mats.append((a.transpose(-1, -2) if ta else a, b.transpose(-1, -2) if tb else b))
        times = []
        with torch.no_grad():
            for _ in range(m['reps']):
                t0 = time.perf_counter()
                for a, b in mats:
                    torch.matmul(a, b)
                times.append((time.perf_counter() - t0) * 1e3)
        return {'times': times}
    if c == 'dispatch':
        a, b = torch.ones(8), torch.ones(8)
        times = []
        with torch.no_grad():
            for _ in range(m['reps']):
                t0 = time.perf_counter()
                for _ in range(m['n']):
                    torch.add(a, b)
                times.append((time.perf_counter() - t0) * 1e6 / m['n'])
        return {'times': times}
    if c == 'params':
        p = G.AnchorRefinePolicy()
        return {'total': G.count(p), 'phase1': sum(x.numel() for x in p.set_phase('anchor')),
                'phase2': sum(x.numel() for x in p.set_phase('refine'))}
    if c == 'quit':
        sys.exit(0)
    raise ValueError(f'unknown cmd {c}')


def openblas_core():
    """The kernel set of the OpenBLAS this process loaded (openblas_get_corename), or why there is none."""
    import ctypes
    torch.ones(64, 64) @ torch.ones(64, 64)  # make sure the BLAS is loaded
    for line in open('/proc/self/maps'):
        path = line.split()[-1]
        if 'openblas' in path and '.so' in path:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            return {'core': lib.openblas_get_corename().decode(), 'config': lib.openblas_get_config().decode()}
    return {'core': 'no OpenBLAS loaded', 'config': ''}


print(json.dumps({'ready': True, 'torch': torch.__version__, 'threads': torch.get_num_threads(),
                  'omp_wait_policy': os.environ.get('OMP_WAIT_POLICY'), 'blas': openblas_core()}), flush=True)
for line in sys.stdin:
    if not line.strip():
        continue
    try:
        r = handle(json.loads(line))
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001
        import traceback
        r = {'error': traceback.format_exc()}
    print(json.dumps(r), flush=True)
