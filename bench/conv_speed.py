"""Naive vs fast (as_strided + one matrix product) vs PyTorch convolution, on the CPU.

Assignment 2's targets, on x (50, 3, 32, 32), w (16, 3, 3, 3), stride 1, pad 1: the fast forward
is at least 50x faster than the naive one and within 5x of torch's. The implementations timed
here are this file's own copies of the reference solutions (instructor material, never shipped
to students), so the benchmark does not depend on the notebook.

    python bench/conv_speed.py              # every shape
    python bench/conv_speed.py --quick      # the target shape only
    OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 python bench/conv_speed.py   # two threads each

NumPy's BLAS and torch run single-threaded unless the environment says otherwise, as in the
grading kernels: on a shared machine, extra threads mostly measure the neighbors. Torch is timed
in float64, like the NumPy code (the ratio the target is about), and in float32 for information
(its fastest CPU path).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # before NumPy and torch load their math libraries

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

TARGET = ((50, 3, 32, 32), (16, 3, 3, 3), 1, 1)
SHAPES = [  # x shape, w shape, stride, pad
    TARGET,
    ((10, 16, 32, 32), (32, 16, 3, 3), 1, 1),
    ((20, 3, 64, 64), (8, 3, 5, 5), 2, 2),
    ((4, 64, 16, 16), (64, 64, 3, 3), 1, 1),
]
MIN_SPEEDUP_OVER_NAIVE = 50.0
MAX_RATIO_TO_TORCH = 5.0


def conv_forward_naive(x, w, b, stride, pad):
    N, C, H, W = x.shape
    F_, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F_, H_out, W_out))
    for n in range(N):
        for f in range(F_):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out


def conv_windows(x_pad, HH, WW, stride):
    N, C, H_p, W_p = x_pad.shape
    sN, sC, sH, sW = x_pad.strides
    shape = (N, C, 1 + (H_p - HH) // stride, 1 + (W_p - WW) // stride, HH, WW)
    return np.lib.stride_tricks.as_strided(x_pad, shape=shape, strides=(sN, sC, stride * sH, stride * sW, sH, sW),
                                           writeable=False)


def conv_forward_fast(x, w, b, stride, pad):
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = conv_windows(x_pad, w.shape[2], w.shape[3], stride)
    out = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3]))
    return out.transpose(0, 3, 1, 2) + b[None, :, None, None]


def conv_backward_fast(dout, x, w, stride, pad):
    _, _, H, W = x.shape
    _, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = conv_windows(x_pad, HH, WW, stride)
    dw = np.tensordot(dout, windows, axes=([0, 2, 3], [0, 2, 3]))
    db = dout.sum(axis=(0, 2, 3))
    dwindows = np.tensordot(dout, w, axes=([1], [0])).transpose(0, 3, 1, 2, 4, 5)
    dx_pad = np.zeros(x_pad.shape)
    for k in range(HH):
        for l in range(WW):
            dx_pad[:, :, k:k + stride * H_out:stride, l:l + stride * W_out:stride] += dwindows[:, :, :, :, k, l]
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, db


def best_time(function, repeats):
    """The fastest of `repeats` runs, in seconds (the least disturbed by the rest of the machine)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def torch_forward_time(x, w, b, stride, pad, dtype, repeats):
    x_t, w_t, b_t = (torch.tensor(a, dtype=dtype) for a in (x, w, b))
    with torch.no_grad():
        F.conv2d(x_t, w_t, b_t, stride=stride, padding=pad)  # warm-up: first calls pick algorithms
        return best_time(lambda: F.conv2d(x_t, w_t, b_t, stride=stride, padding=pad), repeats)


def torch_backward_time(x, w, b, dout, stride, pad, repeats):
    x_t, w_t, b_t = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    out = F.conv2d(x_t, w_t, b_t, stride=stride, padding=pad)
    dout_t = torch.tensor(dout)
    return best_time(lambda: torch.autograd.grad(out, (x_t, w_t, b_t), dout_t, retain_graph=True), repeats)


def machine_info() -> str:
    threads = {name: os.environ.get(name, "unset") for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical cores; python {platform.python_version()}, "
            f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} intra-op threads); "
            + ", ".join(f"{k}={v}" for k, v in threads.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="time the target shape only")
    parser.add_argument("--repeats", type=int, default=10, help="runs of the fast and torch versions (best kept)")
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

    print(f"machine: {machine_info()}")
    rng = np.random.default_rng(0)
    header = (f"{'x shape':>18} {'w shape':>16} {'s':>2} {'p':>2} | {'naive ms':>9} {'fast ms':>8} {'torch64 ms':>10} "
              f"{'torch32 ms':>10} | {'fast/naive':>10} {'fast/torch64':>12} {'bwd fast ms':>11} {'bwd torch64':>11}")
    print("forward (float64 NumPy; naive timed once, the others best of --repeats) and backward (fast vs torch)")
    print(header)
    print("-" * len(header))
    target_result = None
    for x_shape, w_shape, stride, pad in SHAPES[:1] if args.quick else SHAPES:
        x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
        conv_forward_fast(x, w, b, stride, pad)  # warm-up
        naive = best_time(lambda: conv_forward_naive(x, w, b, stride, pad), 1)
        fast = best_time(lambda: conv_forward_fast(x, w, b, stride, pad), args.repeats)
        torch64 = torch_forward_time(x, w, b, stride, pad, torch.float64, args.repeats)
        torch32 = torch_forward_time(x, w, b, stride, pad, torch.float32, args.repeats)
        out = conv_forward_fast(x, w, b, stride, pad)
        reference = F.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), stride=stride, padding=pad).numpy()
        assert np.allclose(out, reference, rtol=1e-10, atol=1e-10), "the fast convolution disagrees with torch"
        dout = rng.standard_normal(out.shape)
        backward = best_time(lambda: conv_backward_fast(dout, x, w, stride, pad), max(1, args.repeats // 2))
        backward_torch = torch_backward_time(x, w, b, dout, stride, pad, max(1, args.repeats // 2))
        speedup, ratio = naive / fast, fast / torch64
        print(f"{str(x_shape):>18} {str(w_shape):>16} {stride:>2} {pad:>2} | {1e3 * naive:9.0f} {1e3 * fast:8.2f} "
              f"{1e3 * torch64:10.2f} {1e3 * torch32:10.2f} | {speedup:9.0f}x {ratio:11.1f}x "
              f"{1e3 * backward:11.2f} {1e3 * backward_torch:11.2f}")
        if (x_shape, w_shape, stride, pad) == TARGET:
            target_result = (speedup, ratio, fast / torch32)

    speedup, ratio, ratio32 = target_result
    print()
    print(f"target x {TARGET[0]}, w {TARGET[1]}, stride 1, pad 1:")
    print(f"  fast forward is {speedup:.0f}x faster than naive (target >= {MIN_SPEEDUP_OVER_NAIVE:.0f}x): "
          f"{'met' if speedup >= MIN_SPEEDUP_OVER_NAIVE else 'NOT MET'}")
    print(f"  fast forward takes {ratio:.1f}x the time of torch float64 (target <= {MAX_RATIO_TO_TORCH:.0f}x): "
          f"{'met' if ratio <= MAX_RATIO_TO_TORCH else 'NOT MET'}; {ratio32:.1f}x the time of torch float32")


if __name__ == "__main__":
    main()
