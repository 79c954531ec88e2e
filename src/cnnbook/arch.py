"""Layer arithmetic for convolutional networks: output sizes, parameters, multiply-adds, receptive fields.

These are the numbers one writes next to every layer of an architecture diagram. Chapter 5
derives them, and chapters 6 and 8 use them to tabulate LeNet, AlexNet, VGG and ResNet.
Sizes follow ``torch.nn.Conv2d`` and ``torch.nn.MaxPool2d`` (floor rounding, symmetric zero
padding); kernels, strides, paddings and dilations are an ``int`` or an ``(height, width)`` pair.

>>> conv_output_size(32, kernel=5, stride=1, padding=2)
32
>>> conv_params(3, 10, kernel=5)
760
>>> conv_layer((3, 32, 32), 10, kernel=5, padding=2)
ConvLayer(out_shape=(10, 32, 32), params=760, macs=768000)
>>> [r.size for r in receptive_field([(3, 1), (3, 1), (3, 2), (3, 1)])]
[3, 5, 7, 11]
"""

from __future__ import annotations

from typing import Iterable, NamedTuple, Sequence, Union

IntOrPair = Union[int, Sequence[int]]

__all__ = ["conv_output_size", "conv_params", "conv_macs", "conv_layer", "pool_layer", "ConvLayer",
           "receptive_field", "ReceptiveField"]


def _pair(value: IntOrPair, name: str) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    pair = tuple(int(v) for v in value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return pair  # type: ignore[return-value]


def _padding(padding: IntOrPair | str, kernel: int, dilation: int) -> int:
    """One dimension's padding; "valid" is 0, "same" keeps the size at stride 1 (odd kernels only)."""
    if padding == "valid":
        return 0
    if padding == "same":
        span = dilation * (kernel - 1)
        if span % 2:
            raise ValueError("'same' padding needs an odd (dilated) kernel size, so that both sides get equal padding")
        return span // 2
    if isinstance(padding, str):
        raise ValueError(f"padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
    return int(padding)  # type: ignore[arg-type]


def conv_output_size(n: int, kernel: int, stride: int = 1, padding: int | str = 0, dilation: int = 1) -> int:
    """Output length along one dimension: ``floor((n + 2p - d(f - 1) - 1) / s) + 1``.

    With ``dilation=1`` this is the familiar ``floor((n + 2p - f) / s) + 1``. ``padding`` may be
    "valid" (0) or "same" (``(f - 1) / 2``, which keeps ``n`` at stride 1). Raises ``ValueError``
    when the kernel does not fit in the padded input.
    """
    p = _padding(padding, kernel, dilation)
    span = dilation * (kernel - 1) + 1
    if n + 2 * p < span:
        raise ValueError(f"kernel of span {span} does not fit in an input of size {n} padded by {p}")
    if stride < 1:
        raise ValueError(f"stride must be at least 1, got {stride}")
    return (n + 2 * p - span) // stride + 1


def conv_params(in_channels: int, out_channels: int, kernel: IntOrPair, bias: bool = True, groups: int = 1) -> int:
    """Learnable parameters of a convolution: ``f_h f_w (C_in / groups) C_out`` weights plus ``C_out`` biases."""
    kh, kw = _pair(kernel, "kernel")
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"groups={groups} must divide in_channels={in_channels} and out_channels={out_channels}")
    return kh * kw * (in_channels // groups) * out_channels + (out_channels if bias else 0)


def conv_macs(in_channels: int, out_channels: int, kernel: IntOrPair, out_size: IntOrPair, groups: int = 1) -> int:
    """Multiply-adds of one forward pass for one image: one ``f_h f_w (C_in / groups)`` dot product
    per output value, and there are ``C_out H_out W_out`` output values (biases not counted)."""
    kh, kw = _pair(kernel, "kernel")
    oh, ow = _pair(out_size, "out_size")
    return kh * kw * (in_channels // groups) * out_channels * oh * ow


class ConvLayer(NamedTuple):
    """What :func:`conv_layer` and :func:`pool_layer` return."""

    out_shape: tuple[int, int, int]  # (channels, height, width)
    params: int
    macs: int  # for pooling: the number of input values read, kernel area per output


def conv_layer(in_shape: Sequence[int], out_channels: int, kernel: IntOrPair, stride: IntOrPair = 1,
               padding: IntOrPair | str = 0, dilation: IntOrPair = 1, groups: int = 1,
               bias: bool = True) -> ConvLayer:
    """Output shape, parameter count and multiply-adds of a ``Conv2d`` applied to ``in_shape = (C, H, W)``."""
    channels, height, width = in_shape
    (kh, kw), (sh, sw), (dh, dw) = _pair(kernel, "kernel"), _pair(stride, "stride"), _pair(dilation, "dilation")
    ph, pw = (padding, padding) if isinstance(padding, str) else _pair(padding, "padding")
    oh = conv_output_size(height, kh, sh, ph, dh)
    ow = conv_output_size(width, kw, sw, pw, dw)
    return ConvLayer((out_channels, oh, ow), conv_params(channels, out_channels, (kh, kw), bias, groups),
                     conv_macs(channels, out_channels, (kh, kw), (oh, ow), groups))


def pool_layer(in_shape: Sequence[int], kernel: IntOrPair, stride: IntOrPair | None = None,
               padding: IntOrPair = 0) -> ConvLayer:
    """Max or average pooling on ``(C, H, W)``: channels unchanged, no parameters; ``macs`` counts the
    ``f_h f_w`` inputs read per output value. ``stride`` defaults to the kernel size, as in torch."""
    channels, height, width = in_shape
    (kh, kw) = _pair(kernel, "kernel")
    (sh, sw) = _pair(kernel if stride is None else stride, "stride")
    (ph, pw) = _pair(padding, "padding")
    oh, ow = conv_output_size(height, kh, sh, ph), conv_output_size(width, kw, sw, pw)
    return ConvLayer((channels, oh, ow), 0, kh * kw * channels * oh * ow)


class ReceptiveField(NamedTuple):
    """Receptive field after one layer, along one dimension, in input pixels."""

    size: int  # how many input pixels one output value depends on
    jump: int  # distance in input pixels between neighboring output values (product of strides)


def receptive_field(layers: Iterable[Sequence[int]]) -> list[ReceptiveField]:
    """Receptive field size and jump after each layer of a chain.

    ``layers`` holds ``(kernel, stride)`` or ``(kernel, stride, dilation)`` per layer, along one
    dimension; pooling layers count like convolutions. The recursion is
    ``r_l = r_{l-1} + d_l (f_l - 1) j_{l-1}`` and ``j_l = j_{l-1} s_l``, from ``r_0 = j_0 = 1``.
    """
    size, jump, result = 1, 1, []
    for layer in layers:
        kernel, stride, dilation = (tuple(layer) + (1,))[:3]
        size += dilation * (kernel - 1) * jump
        jump *= stride
        result.append(ReceptiveField(size, jump))
    return result
