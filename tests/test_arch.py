"""cnnbook.arch: layer arithmetic, checked against what torch actually builds and computes."""

import itertools

import pytest
import torch

from cnnbook.arch import (conv_layer, conv_macs, conv_output_size, conv_params, pool_layer,
                          receptive_field)


@pytest.mark.parametrize("n, kernel, stride, padding, dilation",
                         [c for c in itertools.product([1, 5, 7, 28, 32], [1, 2, 3, 5], [1, 2, 3], [0, 1, 2], [1, 2])
                          if c[0] + 2 * c[3] >= c[4] * (c[1] - 1) + 1])
def test_output_size_matches_conv2d(n, kernel, stride, padding, dilation):
    conv = torch.nn.Conv2d(1, 1, kernel, stride=stride, padding=padding, dilation=dilation)
    with torch.no_grad():
        out = conv(torch.zeros(1, 1, n, n))
    assert out.shape[-1] == conv_output_size(n, kernel, stride, padding, dilation)


@pytest.mark.parametrize("kernel, dilation", [(1, 1), (3, 1), (5, 1), (3, 2), (7, 3)])
def test_same_padding_keeps_the_size_like_torch(kernel, dilation):
    conv = torch.nn.Conv2d(2, 2, kernel, padding="same", dilation=dilation)
    with torch.no_grad():
        out = conv(torch.zeros(1, 2, 21, 21))
    assert out.shape[-1] == conv_output_size(21, kernel, 1, "same", dilation) == 21
    assert conv_output_size(21, kernel, 1, "valid", dilation) == 21 - dilation * (kernel - 1)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError):
        conv_output_size(3, 5)
    with pytest.raises(ValueError):
        conv_output_size(8, 4, padding="same")
    with pytest.raises(ValueError):
        conv_params(3, 8, 3, groups=2)


@pytest.mark.parametrize("c_in, c_out, kernel, bias, groups",
                         [(1, 6, 5, True, 1), (3, 10, 5, True, 1), (64, 32, 1, False, 1), (96, 256, (5, 3), True, 2),
                          (32, 32, 3, False, 32)])
def test_params_match_conv2d(c_in, c_out, kernel, bias, groups):
    conv = torch.nn.Conv2d(c_in, c_out, kernel, bias=bias, groups=groups)
    assert conv_params(c_in, c_out, kernel, bias, groups) == sum(p.numel() for p in conv.parameters())


@pytest.mark.parametrize("in_shape, c_out, kernel, stride, padding, groups",
                         [((3, 32, 32), 10, 5, 1, 2, 1), ((3, 64, 48), 8, 3, 2, 1, 1), ((16, 20, 20), 16, 3, 1, 1, 4),
                          ((8, 15, 15), 4, (1, 3), (2, 1), (0, 1), 1)])
def test_conv_layer_matches_torch_shape_params_and_flops(in_shape, c_out, kernel, stride, padding, groups):
    from torch.utils.flop_counter import FlopCounterMode

    conv = torch.nn.Conv2d(in_shape[0], c_out, kernel, stride=stride, padding=padding, groups=groups)
    layer = conv_layer(in_shape, c_out, kernel, stride, padding, groups=groups)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        out = conv(torch.zeros(1, *in_shape))
    assert layer.out_shape == tuple(out.shape[1:])
    assert layer.params == sum(p.numel() for p in conv.parameters())
    assert 2 * layer.macs == counter.get_total_flops()  # torch counts a multiply-add as two FLOPs
    assert layer.macs == conv_macs(in_shape[0], c_out, kernel, layer.out_shape[1:], groups)


def test_pool_layer_matches_maxpool2d():
    for kernel, stride, padding in [(2, None, 0), (3, 2, 0), (3, 2, 1)]:
        pool = torch.nn.MaxPool2d(kernel, stride, padding)
        out = pool(torch.zeros(1, 5, 13, 13))
        layer = pool_layer((5, 13, 13), kernel, stride, padding)
        assert layer.out_shape == tuple(out.shape[1:]) and layer.params == 0


def test_receptive_field_matches_gradient_support():
    """The receptive field is the set of input pixels with a nonzero gradient for one output value."""
    specs = [(3, 1), (3, 2), (5, 1, 2), (2, 2), (3, 1)]
    layers = [torch.nn.Conv2d(1, 1, k, stride=s, dilation=(d[0] if d else 1), bias=False) for k, s, *d in specs]
    for layer in layers:
        torch.nn.init.constant_(layer.weight, 1.0)
    x = torch.zeros(1, 1, 64, 64, requires_grad=True)
    y = torch.nn.Sequential(*layers)(x)
    y[0, 0, y.shape[-2] // 2, y.shape[-1] // 2].backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(dim=1))
    assert rows.max() - rows.min() + 1 == receptive_field(specs)[-1].size
    assert [r.jump for r in receptive_field(specs)] == [1, 2, 2, 4, 4]


def test_doctest_examples():
    import doctest

    import cnnbook.arch

    assert doctest.testmod(cnnbook.arch).failed == 0
