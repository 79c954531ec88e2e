"""Numerical gradients and comparisons, for gradient checks and test messages.

A gradient check compares an analytic gradient with centered differences,

.. math:: \\frac{\\partial f}{\\partial x_i} \\approx \\frac{f(x + h e_i) - f(x - h e_i)}{2h},

whose error is :math:`O(h^2)`. In float64 with ``h = 1e-5`` a correct gradient usually agrees
to a relative error below ``1e-7``; an error above ``1e-3`` almost always means a bug.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Centered-difference gradient of a scalar function ``f`` at ``x`` (any shape).

    ``x`` is perturbed in place one entry at a time and restored, so ``f`` may close over it.
    Returns an array of ``x``'s shape and dtype float64.
    """
    x = _as_float64(x)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        f_plus = float(f(x))
        x[index] = original - h
        f_minus = float(f(x))
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * h)
    return grad


def numerical_gradient_array(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, upstream: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Centered-difference gradient of ``sum(f(x) * upstream)`` with respect to ``x``.

    This is what a layer's backward pass must return when it receives ``upstream`` as the
    gradient of the loss with respect to its output ``f(x)``.
    """
    upstream = np.asarray(upstream, dtype=np.float64)
    return numerical_gradient(lambda z: float(np.sum(f(z) * upstream)), x, h)


def relative_error(a: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> float:
    """Largest elementwise ``|a - b| / max(|a| + |b|, eps)``: scale-free, 0 when equal."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), eps)))


def assert_close(actual, expected, name: str = "result", tol: float = 1e-6) -> float:
    """Raise an ``AssertionError`` that says what differs, unless ``actual`` matches ``expected``.

    Checks type, shape and finiteness first, so a student sees "returned None" or
    "shape (3, 4), expected (4, 3)" rather than a bare numeric failure. Returns the relative error.
    """
    if actual is None:
        raise AssertionError(f"{name} is None: did you forget to return it?")
    actual_array = np.asarray(actual)
    expected_array = np.asarray(expected)
    if actual_array.dtype == object or not np.issubdtype(actual_array.dtype, np.number):
        raise AssertionError(f"{name} should be a numeric array, got {type(actual).__name__}")
    if actual_array.shape != expected_array.shape:
        raise AssertionError(f"{name} has shape {actual_array.shape}, expected {expected_array.shape}")
    if not np.all(np.isfinite(actual_array)):
        raise AssertionError(f"{name} contains NaN or inf")
    error = relative_error(actual_array, expected_array)
    if not error <= tol:
        raise AssertionError(
            f"{name} is off: relative error {error:.2e}, expected below {tol:.0e} "
            f"(around 1e-8 or smaller is typical for a correct float64 implementation)"
        )
    return error


def _as_float64(x: np.ndarray) -> np.ndarray:
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError("numerical gradients need a float64 numpy array (finite differences lose "
                        "all precision in float32); convert with x.astype(np.float64)")
    return x


# ---------------------------------------------------------------- helpers of the visible tests
# The assignments' visible checks use these (one copy for all nine notebooks). Each compares a
# student's result with a literal or an independent library reference and says what is wrong.


def expect_tuple(result, names, function: str):
    """Unpack what ``function`` returned, or say which tuple it should have returned."""
    if not isinstance(result, tuple) or len(result) != len(names):
        got = f"a tuple of {len(result)} items" if isinstance(result, tuple) else type(result).__name__
        raise AssertionError(f"{function} should return a tuple ({', '.join(names)}), got {got}")
    return result


def expect_shape(value, shape, name: str) -> None:
    """Say which shape was expected (of an array or a tensor) before any value is compared."""
    if value is None:
        raise AssertionError(f"{name} is None: did you forget to return it?")
    got = tuple(value.shape) if hasattr(value, "shape") else np.shape(value)
    if got != tuple(shape):
        raise AssertionError(f"{name} has shape {got}, expected {tuple(shape)}")


def expect_tensor(value, name: str):
    """Say so when something other than a ``torch.Tensor`` came back."""
    import torch

    if not isinstance(value, torch.Tensor):
        raise AssertionError(f"{name} should be a torch.Tensor, got {type(value).__name__}")
    return value


def expect_close(actual, expected, name: str, tol: float = 1e-4, atol: float = 1e-6) -> float:
    """Compare float arrays or tensors (float32 included).

    Passes when the largest difference is at most ``tol`` times the largest expected magnitude
    plus ``atol``. The absolute floor matters: float32 results computed in another order (in a
    batch, on another CPU or a GPU) differ by about 1e-8 even where every value is tiny.
    Returns the largest difference.
    """
    if actual is None:
        raise AssertionError(f"{name} is None: did you forget to return it?")
    actual_array, expected_array = _as_float64_array(actual), _as_float64_array(expected)
    expect_shape(actual_array, expected_array.shape, name)
    if not np.all(np.isfinite(actual_array)):
        raise AssertionError(f"{name} contains NaN or inf")
    if actual_array.size == 0:
        return 0.0
    difference = float(np.max(np.abs(actual_array - expected_array)))
    scale = float(np.max(np.abs(expected_array)))
    if not difference <= tol * scale + atol:
        raise AssertionError(f"{name} is off: largest difference {difference:.1e} where the largest expected value "
                             f"is {scale:.1e} (allowed {tol:.0e} of it plus {atol:.0e})")
    return difference


def _as_float64_array(value) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor, on any device
        value = value.detach().cpu().double().numpy()
    return np.asarray(value, dtype=np.float64)


def torch_grads(function: Callable, inputs, upstream) -> list[np.ndarray]:
    """Gradients of ``sum(function(*inputs) * upstream)`` with respect to each input, by
    ``torch.autograd`` in float64: the reference of the backward passes' visible checks."""
    import torch

    tensors = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in inputs]
    output = function(*tensors)
    (output * torch.tensor(np.asarray(upstream, dtype=np.float64))).sum().backward()
    return [t.grad.numpy() for t in tensors]


def count_parameters(module) -> int:
    """The number of trainable numbers in a module (what papers call its parameters)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
