"""cnnbook.check: numerical gradients and the comparisons visible tests are built on."""

import numpy as np
import pytest

from cnnbook.check import assert_close, numerical_gradient, numerical_gradient_array, relative_error


def test_numerical_gradient_of_known_functions():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    assert relative_error(numerical_gradient(lambda z: np.sum(z**2), x), 2 * x) < 1e-8
    assert relative_error(numerical_gradient(lambda z: np.sum(np.sin(z)), x), np.cos(x)) < 1e-8
    a = rng.normal(size=(4,))
    assert relative_error(numerical_gradient(lambda z: np.sum(z @ a), x), np.tile(a, (3, 1))) < 1e-8


def test_numerical_gradient_is_centered():
    # For x**3 a forward difference is off by about 3*x*h; a centered one only by h**2.
    x = np.array([2.0])
    assert abs(numerical_gradient(lambda z: float(z[0] ** 3), x, h=1e-2)[0] - 12.0) < 2e-4


def test_numerical_gradient_restores_input():
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    before = x.copy()
    numerical_gradient(lambda z: np.sum(z**3), x)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda z: float(z.sum()), np.ones(3, dtype=np.float32))


def test_numerical_gradient_array_matches_matrix_product_backward():
    rng = np.random.default_rng(1)
    x, w, upstream = rng.normal(size=(5, 3)), rng.normal(size=(3, 2)), rng.normal(size=(5, 2))
    expected = upstream @ w.T  # gradient of sum((x @ w) * upstream) with respect to x
    assert relative_error(numerical_gradient_array(lambda z: z @ w, x, upstream), expected) < 1e-8


def test_relative_error_is_scale_free_and_zero_when_equal():
    a = np.array([1.0, -2.0, 0.0])
    assert relative_error(a, a) == 0.0
    assert relative_error(1e6 * a, 1e6 * a * (1 + 1e-9)) == pytest.approx(5e-10, rel=1e-3)
    with pytest.raises(ValueError, match="shapes differ"):
        relative_error(np.ones(2), np.ones(3))


@pytest.mark.parametrize("actual, message", [
    (None, "forget to return"),
    (np.ones((3, 2)), "shape"),
    (np.array([np.nan, 1.0]), "NaN"),
    (np.array([1.0, 2.5]), "relative error"),
    ("text", "numeric"),
])
def test_assert_close_explains_failures(actual, message):
    with pytest.raises(AssertionError, match=message):
        assert_close(actual, np.array([1.0, 2.0]), name="out")


def test_assert_close_accepts_a_correct_value():
    assert assert_close(np.array([1.0, 2.0 + 1e-12]), np.array([1.0, 2.0])) < 1e-9
