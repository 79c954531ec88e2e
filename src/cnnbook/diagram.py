"""Architecture diagrams drawn from the ``nn.Module`` itself, so a figure cannot disagree with the code.

:func:`architecture_graph` traces a module on an example input and returns the blocks (layers or
named sub-modules, at a chosen depth) with their output shapes and the edges between them;
:func:`draw_architecture` draws that graph with matplotlib and returns the figure with it. Used
for the region proposal network of chapter 11 and the classic architectures of chapters 6, 8
and 12::

    fig, graph = draw_architecture(model, torch.zeros(1, 3, 224, 224), depth=2)

Why ``torch.fx`` and not forward hooks: a hook sees every call of a sub-module, but not the
functions between them, and those are exactly the skip connections (``out + x``) and the
concatenations (``torch.cat``) a diagram must show. ``torch.fx.symbolic_trace`` records every
module call *and* every tensor function as a node with its inputs, so the edges are the data
flow itself; running the traced graph once on the example input (``ShapeProp``) then gives
every node's output shape. A module with data-dependent control flow cannot be traced inside:
make it one block with ``depth`` or ``leaf_modules``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch, Rectangle
from matplotlib.lines import Line2D
from matplotlib.path import Path
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp, TensorMetadata


@dataclass(frozen=True)
class Node:
    """One block of the diagram.

    ``name``: the module path (``layer1.0.conv1``) or, for a function, its scope and the trace's
    name (``layer1.0.add``); ``kind``: the color class (``conv``, ``add``, ``concat``, ...);
    ``label``: what it computes (``conv 3x3 /2 · BN · ReLU``); ``shape``: its output shape,
    batch included; ``members``: the traced nodes it draws (several when activations are merged
    into their layer, or identical stages folded); ``repeat``: how many identical copies it
    stands for; ``fold``: the names of the blocks folded together with it, in order.
    """

    name: str
    kind: str
    label: str
    shape: tuple[int, ...]
    members: tuple[str, ...]
    repeat: int = 1
    fold: tuple[str, ...] = ()


@dataclass
class ArchitectureGraph:
    """Blocks in execution order and the edges ``(source name, target name)`` of the data flow."""

    nodes: list[Node]
    edges: list[tuple[str, str]] = field(default_factory=list)

    def node(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)

    def predecessors(self, name: str) -> list[str]:
        return [source for source, target in self.edges if target == name]

    def successors(self, name: str) -> list[str]:
        return [target for source, target in self.edges if source == name]


# ---------------------------------------------------------------------------------------------
# What each traced node is: its kind (the color) and its label.

_MODULE_KINDS = [  # the first matching class wins
    ((nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Upsample), "upsample"),
    ((nn.Conv1d, nn.Conv2d, nn.Conv3d), "conv"),
    ((nn.Linear, nn.Bilinear), "linear"),
    ((nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
      nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.LPPool2d), "pool"),
    ((nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm), "norm"),
    ((nn.Dropout, nn.Dropout2d, nn.AlphaDropout), "dropout"),
    ((nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Tanh, nn.Sigmoid,
      nn.Softmax, nn.LogSoftmax, nn.Hardswish, nn.Hardsigmoid, nn.Mish), "activation"),
    ((nn.Flatten, nn.Unflatten, nn.Identity), "reshape"),
]
_FUNCTION_KINDS = {
    "add": "add", "iadd": "add", "cat": "concat", "concat": "concat", "concatenate": "concat",
    "relu": "activation", "relu_": "activation", "relu6": "activation", "gelu": "activation",
    "silu": "activation", "tanh": "activation", "sigmoid": "activation", "softmax": "activation",
    "log_softmax": "activation", "leaky_relu": "activation", "hardswish": "activation",
    "max_pool2d": "pool", "avg_pool2d": "pool", "adaptive_avg_pool2d": "pool", "max_pool1d": "pool",
    "interpolate": "upsample", "upsample": "upsample", "dropout": "dropout", "batch_norm": "norm",
    "flatten": "reshape", "view": "reshape", "reshape": "reshape", "permute": "reshape",
    "transpose": "reshape", "squeeze": "reshape", "unsqueeze": "reshape", "contiguous": "reshape",
    "getitem": "reshape", "chunk": "reshape", "pad": "reshape", "split": "reshape", "mean": "pool",
}
#: Kinds that are drawn inside the block before them (a convolution and its BN and ReLU are one block).
_MERGED_KINDS = {"activation", "norm", "dropout"}

KIND_COLORS = {
    "input": "#d9d9d9", "conv": "#9ecae1", "linear": "#fdd0a2", "pool": "#a1d99b", "norm": "#dadaeb",
    "activation": "#fff2a8", "dropout": "#f0f0f0", "add": "#fc9272", "concat": "#c994c7",
    "upsample": "#66c2a4", "reshape": "#f5f5f5", "module": "#fdae6b", "op": "#e0e0e0",
}
_KIND_NAMES = {"input": "input", "conv": "convolution", "linear": "fully connected", "pool": "pooling",
               "norm": "normalization", "activation": "activation", "dropout": "dropout",
               "add": "add (skip)", "concat": "concatenation", "upsample": "upsampling",
               "reshape": "reshape / select", "module": "sub-module", "op": "other operation"}
_ACTIVATION_NAMES = {"relu": "ReLU", "relu_": "ReLU", "relu6": "ReLU6", "gelu": "GELU", "silu": "SiLU",
                     "leaky_relu": "leaky ReLU", "hardswish": "hard-swish"}


def _pair_text(value) -> str:
    """``3`` or ``(3, 3)`` -> ``3x3``; ``(1, 3)`` -> ``1x3``."""
    values = (value, value) if isinstance(value, int) else tuple(value)
    return "x".join(map(str, values)) if len(values) > 1 else str(values[0])


def _module_kind(module: nn.Module) -> str:
    for classes, kind in _MODULE_KINDS:
        if isinstance(module, classes):
            return kind
    return "module"


def _module_label(module: nn.Module) -> str:
    """A short description of what a leaf module computes."""
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d)):
        text = ("up-conv " if isinstance(module, nn.ConvTranspose2d) else "conv ") + _pair_text(module.kernel_size)
        if max(module.stride) > 1:
            text += f" /{max(module.stride)}"
        if module.groups > 1:
            text += " depthwise" if module.groups == module.in_channels == module.out_channels else f" g{module.groups}"
        return text
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        kernel, stride = module.kernel_size, module.stride
        text = ("max" if isinstance(module, nn.MaxPool2d) else "avg") + f" pool {_pair_text(kernel)}"
        return text if stride == kernel else text + f" /{stride if isinstance(stride, int) else stride[0]}"
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        size = module.output_size
        return "global avg pool" if size in (1, (1, 1)) else f"adaptive pool {_pair_text(size)}"
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return "BN"
    if isinstance(module, nn.LocalResponseNorm):
        return "LRN"
    if isinstance(module, nn.Dropout):
        return f"dropout {module.p:g}"
    if isinstance(module, nn.Upsample):
        return f"upsample x{module.scale_factor:g}" if module.scale_factor else "upsample"
    if isinstance(module, (nn.Linear, nn.Flatten, nn.Identity)):
        return type(module).__name__.lower()
    if isinstance(module, nn.Sequential) and len(module):  # an unnamed group, e.g. a projection shortcut
        return " · ".join(_module_label(child) for child in module)
    return type(module).__name__


def _function_name(node: fx.Node) -> str:
    target = node.target
    return target if isinstance(target, str) else getattr(target, "__name__", str(target))


def _tensor_count(node: fx.Node) -> int:
    return sum(isinstance(arg.meta.get("tensor_meta"), TensorMetadata) for arg in node.all_input_nodes)


def _function_kind_and_label(node: fx.Node, root: nn.Module) -> tuple[str, str]:
    name = _function_name(node)
    kind = _FUNCTION_KINDS.get(name, "op")
    if kind == "add" and _tensor_count(node) < 2:  # x + 1 is an elementwise operation, not a skip
        kind = "op"
    if name in ("add", "iadd") and kind == "add":
        return kind, "add"
    if kind == "concat":
        return kind, "concat"
    if kind == "activation":
        return kind, _ACTIVATION_NAMES.get(name, name)
    if name == "getitem":
        index = node.args[1]
        selector = index[-1] if isinstance(index, tuple) else index
        if isinstance(selector, fx.Node) and selector.op == "get_attr":  # channels picked by a constant
            values = getattr(root, selector.target).tolist()
            return kind, "maps " + ",".join(map(str, values))
        return kind, "select"
    if name == "interpolate":
        scale = node.kwargs.get("scale_factor")
        return kind, f"upsample x{scale:g}" if scale else "upsample"
    if name in ("max_pool2d", "avg_pool2d"):
        kernel = node.args[1] if len(node.args) > 1 else node.kwargs.get("kernel_size")
        return kind, f"{name[:3]} pool {_pair_text(kernel)}" if kernel is not None else name
    return kind, name


# ---------------------------------------------------------------------------------------------
# Tracing.

def _is_elementwise(module: nn.Module, node: fx.Node) -> bool:
    """A module without weights whose output has the shape of its one input: an activation."""
    inputs = [arg.meta.get("tensor_meta") for arg in node.all_input_nodes]
    return (not any(True for _ in module.parameters()) and not any(True for _ in module.buffers())
            and len(inputs) == 1 and isinstance(inputs[0], TensorMetadata)
            and tuple(inputs[0].shape) == tuple(node.meta["tensor_meta"].shape))


class _DepthTracer(fx.Tracer):
    """An fx tracer that stops at modules ``depth`` levels below the root, or of ``leaf_types``."""

    def __init__(self, depth: int | None, leaf_types: tuple[type, ...]):
        super().__init__()
        self.depth, self.leaf_types = depth, leaf_types

    def is_leaf_module(self, module: nn.Module, qualified_name: str) -> bool:
        if isinstance(module, self.leaf_types) or super().is_leaf_module(module, qualified_name):
            return True
        return self.depth is not None and qualified_name.count(".") + 1 >= self.depth


def _scope(node: fx.Node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    return next(reversed(stack.values()))[0] if stack else ""


def trace_graph(module: nn.Module, example: torch.Tensor | Sequence[torch.Tensor], depth: int | None = None,
                leaf_modules: Sequence[type] = ()) -> ArchitectureGraph:
    """The module's data flow as the trace records it: one node per input and per call that
    returns a tensor, no merging and no folding (what :func:`architecture_graph` starts from)."""
    examples = (example,) if isinstance(example, torch.Tensor) else tuple(example)
    tracer = _DepthTracer(depth, tuple(leaf_modules))
    try:
        graph = tracer.trace(module)
    except Exception as error:  # fx raises TraceError, TypeError, ... on data-dependent Python
        raise ValueError(f"torch.fx cannot trace {type(module).__name__} at depth {depth}: {error}. Draw the "
                         "offending sub-module as one block with a smaller depth or leaf_modules=(its class,)") from error
    traced = fx.GraphModule(tracer.root, graph)
    was_training = module.training
    module.eval()  # shapes only; do not update batch-norm statistics
    with torch.no_grad():
        ShapeProp(traced).propagate(*examples)
    module.train(was_training)

    names: dict[fx.Node, str] = {}
    nodes: list[Node] = []
    for node in traced.graph.nodes:
        meta = node.meta.get("tensor_meta")
        if node.op in ("get_attr", "output") or not isinstance(meta, TensorMetadata):
            continue
        if node.op == "placeholder":
            name, kind, label = str(node.target), "input", "input"  # the argument of forward
        elif node.op == "call_module":
            leaf = traced.get_submodule(node.target)
            name, kind, label = node.target, _module_kind(leaf), _module_label(leaf)
            if kind == "module" and _is_elementwise(leaf, node):
                kind = "activation"  # e.g. LeNet-5's scaled tanh
        else:
            kind, label = _function_kind_and_label(node, traced)
            scope = _scope(node)
            name = f"{scope}.{node.name}" if scope else node.name
        names[node] = name
        nodes.append(Node(name, kind, label, tuple(meta.shape), (name,)))

    def drawn_inputs(node: fx.Node) -> list[str]:
        """The drawn nodes whose data feeds ``node``, looking through tuples of tensors (``chunk``);
        shapes and sizes (``x.shape[-1]``) are not data, parameters and constants not blocks."""
        found = []
        for source in node.all_input_nodes:
            if source in names:
                found.append(names[source])
            elif isinstance(source.meta.get("tensor_meta"), (tuple, list)):
                found.extend(drawn_inputs(source))
        return list(dict.fromkeys(found))

    edges = [(source, names[node]) for node in names for source in drawn_inputs(node)]
    return ArchitectureGraph(nodes, edges)


def merge_layers(graph: ArchitectureGraph) -> ArchitectureGraph:
    """Draw each normalization, activation and dropout inside the block before it, when that
    block feeds only it (``conv 3x3 · BN · ReLU``), a layer inside the normalization and
    activation before it (``BN · ReLU · conv 3x3``), and consecutive reshapes as one block;
    an ``nn.Identity`` (an identity shortcut) is drawn as the edge it is."""
    nodes = {node.name: node for node in graph.nodes}
    edges = list(graph.edges)
    order = [node.name for node in graph.nodes]
    pre_activated: set[str] = set()  # BN · ReLU · conv blocks: the next BN starts a new block
    for name in list(order):
        node = nodes[name]
        sources = [s for s, t in edges if t == name]
        if len(sources) != 1:
            continue
        if node.label == "identity":  # an identity shortcut is just an edge
            edges = [(sources[0] if s == name else s, t) for s, t in edges if t != name]
            edges = list(dict.fromkeys(edges))
            del nodes[name]
            order.remove(name)
            continue
        previous = nodes[sources[0]]
        follows = (node.kind in _MERGED_KINDS and previous.name not in pre_activated
                   or node.kind == previous.kind == "reshape"
                   or node.kind == "reshape" and node.shape == previous.shape)  # a pad by zero, a copy
        leads = previous.kind in _MERGED_KINDS and node.kind not in ("add", "concat")  # pre-activation: BN · ReLU · conv
        if leads and not follows:
            pre_activated.add(previous.name)
        if not (follows or leads) or previous.kind == "input" or [t for s, t in edges if s == previous.name] != [name]:
            continue
        nodes[previous.name] = replace(previous, kind=previous.kind if follows else node.kind, shape=node.shape,
                                       label=f"{previous.label} · {node.label}", members=previous.members + node.members)
        edges = [(previous.name if s == name else s, t) for s, t in edges if t != name]
        del nodes[name]
        order.remove(name)
    return ArchitectureGraph([nodes[name] for name in order], edges)


def fold_repeats(graph: ArchitectureGraph) -> ArchitectureGraph:
    """Draw runs of identical consecutive stages once, with their count ("x3").

    A stage is ``k`` consecutive blocks (in execution order) that receive data only from each
    other and from the block just before them, and send it only to the next stage (the last one
    anywhere). Stages are identical when their blocks have the same kinds, labels, input and
    output shapes and the same edges between them. The longest run wins; ties go to shorter stages.
    """
    order = [node.name for node in graph.nodes]
    nodes = {node.name: node for node in graph.nodes}
    position = {name: index for index, name in enumerate(order)}
    inputs = {name: sorted(position[s] for s, t in graph.edges if t == name) for name in order}
    outputs = {name: sorted(position[t] for s, t in graph.edges if s == name) for name in order}

    def signature(index: int, start: int):
        node = nodes[order[index]]
        relative = tuple(source - start for source in inputs[order[index]])
        shapes = tuple(nodes[order[source]].shape for source in inputs[order[index]])
        return node.kind, node.label, node.shape, shapes, relative

    def is_stage(start: int, size: int, last_copy: bool) -> bool:
        if start < 1 or start + size > len(order):
            return False
        for index in range(start, start + size):
            if any(source < start - 1 for source in inputs[order[index]]):
                return False
            if index < start + size - 1 and any(target >= start + size for target in outputs[order[index]]):
                return False
        last_targets = outputs[order[start + size - 1]]
        return last_copy or all(start + size <= target < start + 2 * size for target in last_targets)

    folded_into: dict[str, str] = {}
    kept: dict[str, Node] = {}
    start = 0
    while start < len(order):
        best = (1, 1)  # (copies, size)
        for size in range(1, (len(order) - start) // 2 + 1):
            copies = 1
            while start + (copies + 1) * size <= len(order) and all(
                    signature(start + copies * size + i, start + copies * size) == signature(start + i, start)
                    for i in range(size)):
                copies += 1
            while copies > 1 and not (all(is_stage(start + c * size, size, False) for c in range(copies - 1))
                                      and is_stage(start + (copies - 1) * size, size, True)):
                copies -= 1
            if copies * size > best[0] * best[1] and copies > 1:
                best = (copies, size)
        copies, size = best
        group = tuple(order[start:start + size])
        for i in range(size):
            members = sum((nodes[order[start + c * size + i]].members for c in range(copies)), ())
            name = order[start + i]
            kept[name] = replace(nodes[name], members=members, repeat=copies, fold=group if copies > 1 else ())
            for c in range(1, copies):
                folded_into[order[start + c * size + i]] = name
        start += copies * size

    edges = []
    for source, target in graph.edges:
        if target in folded_into:
            continue  # edges inside the folded copies, and into them, are the first copy's
        edge = (folded_into.get(source, source), target)  # the last copy's outputs leave from the first
        if edge not in edges:
            edges.append(edge)
    return ArchitectureGraph([kept[name] for name in order if name in kept], edges)


def architecture_graph(module: nn.Module, example: torch.Tensor | Sequence[torch.Tensor], depth: int | None = None,
                       merge: bool = True, fold: bool = True, leaf_modules: Sequence[type] = ()) -> ArchitectureGraph:
    """The blocks of ``module`` and their data flow, traced on ``example`` (a tensor or a tuple).

    ``depth``: sub-modules that many levels below the root are drawn as single blocks (``None``:
    down to PyTorch's own layers); ``leaf_modules``: classes always drawn as one block;
    ``merge``: normalizations and activations drawn inside the layer they follow; ``fold``:
    repeated identical stages drawn once with their count.
    """
    graph = trace_graph(module, example, depth, leaf_modules)
    if merge:
        graph = merge_layers(graph)
    if fold:
        graph = fold_repeats(graph)
    return graph


# ---------------------------------------------------------------------------------------------
# Layout and drawing.

def _ranks(graph: ArchitectureGraph) -> dict[str, int]:
    """Columns along the data flow: longest path from an input, then side branches pulled
    forward next to where they are used (a shortcut convolution sits beside the addition)."""
    rank: dict[str, int] = {}
    for node in graph.nodes:
        rank[node.name] = max((rank[s] + 1 for s in graph.predecessors(node.name)), default=0)
    for node in reversed(graph.nodes):
        targets = graph.successors(node.name)
        if targets and node.kind != "input":
            rank[node.name] = min(rank[t] for t in targets) - 1
    return rank


def _lanes(graph: ArchitectureGraph, rank: Mapping[str, int]) -> dict[str, int]:
    """Rows across the data flow: a block continues the lane of an input whose lane is free up
    to it (an input continues into one block only), or takes the nearest free lane."""
    lane: dict[str, int] = {}
    occupied: set[tuple[int, int]] = set()
    continued: set[str] = set()
    for node in graph.nodes:
        sources = graph.predecessors(node.name)
        own = rank[node.name]
        if not sources:
            chosen, start = max(lane.values(), default=-1) + 1, own
        else:
            chosen = None
            for source in sources:  # continue an input's lane
                cells = {(lane[source], r) for r in range(rank[source] + 1, own + 1)}
                if source not in continued and not cells & occupied:
                    chosen, start = lane[source], rank[source] + 1
                    continued.add(source)
                    break
            if chosen is None:  # or branch off the first input into the next free lane (in execution order)
                base, start = lane[sources[0]], rank[sources[0]] + 1
                offsets = [*range(1, len(rank) + 1), *range(-1, -len(rank) - 1, -1)]
                chosen = next(base + offset for offset in offsets
                              if not {(base + offset, r) for r in range(start, own + 1)} & occupied)
        lane[node.name] = chosen
        occupied |= {(chosen, r) for r in range(start, own + 1)}
    low = min(lane.values())
    return {name: value - low for name, value in lane.items()}


def _shape_text(shape: Sequence[int]) -> str:
    return "x".join(map(str, shape[1:] if len(shape) > 1 else shape))


def _edge_routes(graph: ArchitectureGraph, rank, lane, per_row: int, spacing: float):
    """Each edge as a polyline of ``(column position, where across)`` vertices, where across is
    ``("lane", row, lane)`` or ``("channel", row, level)``, a level of the free channel above a
    row of blocks. An edge runs along a free lane, turns in the gaps between columns, or, when
    every lane on the way is occupied (a skip connection), around the blocks through the
    channel above its row; edges to a later row go down a gap and along that row's channel.
    Columns are numbered, with half steps for the gaps; the vertical runs of different blocks in
    one gap are ``spacing`` columns apart. Returns ``[(target, vertices)]`` and the number of
    levels each row's channel needs."""
    cells = {(lane[name], rank[name]) for name in rank}
    row = lambda name: rank[name] // per_row
    column = lambda name: rank[name] % per_row
    taken: dict[int, list[tuple[float, float, int]]] = {}   # row -> (from, to, level) of its channel

    def level_for(row_index: int, a: float, b: float) -> int:
        low, high = min(a, b), max(a, b)
        used = [lv for x0, x1, lv in taken.setdefault(row_index, []) if x0 < high + 0.3 and low - 0.3 < x1]
        level = next(lv for lv in range(len(used) + 1) if lv not in used)
        taken[row_index].append((low, high, level))
        return level

    slots: dict[float, list] = {}   # gap -> the blocks whose edges run along it, each at its own offset

    def gap(position: float, owner) -> float:
        owners = slots.setdefault(position, [])
        if owner not in owners:
            owners.append(owner)
        index = owners.index(owner)
        return position + spacing * ((index + 1) // 2) * (1 if index % 2 else -1)

    routes = []
    for source, target in sorted(graph.edges, key=lambda e: (rank[e[1]] - rank[e[0]], rank[e[0]])):
        k0, k1, l0, l1 = row(source), row(target), lane[source], lane[target]
        a, b = column(source), column(target)
        here, there = ("lane", k0, l0), ("lane", k1, l1)
        free = lambda index: all((index, r) not in cells for r in range(rank[source] + 1, rank[target]))
        out, into = gap(a + 0.5, ("from", source)), gap(b - 0.5, ("into", target))
        if k0 != k1 or not (l0 == l1 and (b - a == 1 or free(l0)) or b - a == 1 or free(l1) or free(l0)):
            level = ("channel", k1, level_for(k1, out, into))
            vertices = [(out, here), (out, level), (into, level), (into, there)]
        elif l0 == l1:
            vertices = []
        elif b - a == 1 or free(l1):
            vertices = [(out, here), (out, there)]
        else:
            vertices = [(into, here), (into, there)]
        routes.append((target, [(a + 0.5, here)] + vertices + [(b - 0.5, there)]))
    levels = {index: 1 + max(lv for *_, lv in spans) for index, spans in taken.items()}
    return routes, levels


def draw_architecture(module: nn.Module, example: torch.Tensor | Sequence[torch.Tensor], depth: int | None = None,
                      merge: bool = True, fold: bool = True, leaf_modules: Sequence[type] = (),
                      direction: str = "auto", wrap: int | None = None, insets: Mapping[str, np.ndarray] | None = None,
                      title: str | None = None, max_width: float = 9.0):
    """Draw ``module``'s architecture, traced on ``example``; return ``(figure, graph)``.

    Each block shows its name, what it computes and its output shape without the batch
    dimension (channels first), colored by kind; additions (skip connections) and
    concatenations are blocks of their own, and the edges into them are colored. Folded stages
    are framed with their count. ``direction``: ``"LR"`` (left to right), ``"TB"`` (top to
    bottom) or ``"auto"``: left to right when it fits ``max_width`` inches (the page), top to
    bottom when that fits in 7 inches, else left to right in rows of ``wrap`` columns.
    ``insets`` maps block names to small matrices drawn beside the block (LeNet-5's C3
    connection table: rows are inputs, columns outputs). The other arguments are those of
    :func:`architecture_graph`; the graph returned is the one drawn. Sizes are in inches at
    7.5-point text, so the figure is legible when shown at its own size.
    """
    graph = architecture_graph(module, example, depth, merge, fold, leaf_modules)
    rank = _ranks(graph)
    lane = _lanes(graph, rank)
    lines = {node.name: (node.name + (f"  x{node.repeat}" if node.repeat > 1 and len(node.fold) == 1 else ""),
                         node.label, _shape_text(node.shape)) for node in graph.nodes}
    box_long = max(1.0, 0.06 * max(len(line) for text in lines.values() for line in text) + 0.15)
    n_ranks, n_lanes = max(rank.values()) + 1, max(lane.values()) + 1
    fits = max(1, int((max_width + 0.35) // (box_long + 0.35)))
    if direction == "auto":
        tall = n_ranks * 0.85 > 7.0 or n_lanes * (box_long + 0.25) > max_width
        direction = "LR" if n_ranks <= fits or tall else "TB"
    horizontal = direction == "LR"
    per_row = (wrap or fits) if horizontal else n_ranks
    box_main, box_cross = (box_long, 0.55) if horizontal else (0.55, box_long)
    step_main, step_cross = box_main + (0.35 if horizontal else 0.3), box_cross + (0.3 if horizontal else 0.25)
    routes, levels = _edge_routes(graph, rank, lane, per_row, 0.07 / step_main)

    # rows of blocks, top to bottom: a channel for the edges above each, room for insets below
    n_rows = (n_ranks - 1) // per_row + 1
    inset_height = {name: 0.9 if np.asarray(m).shape[0] / np.asarray(m).shape[1] > 0.5 else 0.9 * np.asarray(m).shape[0]
                    / np.asarray(m).shape[1] * 2 for name, m in (insets or {}).items()}
    below = [max([inset_height[name] + 0.4 for name in inset_height if rank[name] // per_row == k and horizontal],
                 default=0.0) for k in range(n_rows)]
    channel = lambda k: 0.12 + 0.16 * levels[k] if k in levels else 0.0
    lane_zero, position = {}, 0.0
    for k in range(n_rows):
        position += channel(k) + box_cross / 2
        lane_zero[k] = position
        position += (n_lanes - 1) * step_cross + box_cross / 2 + below[k] + 0.3

    def across(where) -> float:
        what, k, index = where
        if what == "lane":
            return lane_zero[k] + index * step_cross
        return lane_zero[k] - box_cross / 2 - 0.16 * (index + 1)

    def xy(along: float, across_value: float) -> tuple[float, float]:
        """Inches on the figure: the flow goes right (LR) or down (TB), lanes go down or right."""
        return (along, -across_value) if horizontal else (across_value, -along)

    fig, ax = plt.subplots()
    ax.set_axis_off()
    kinds = {node.name: node.kind for node in graph.nodes}
    edge_colors = {"add": "#cb181d", "concat": "#7a0177"}
    points = []
    width, height = (box_main, box_cross) if horizontal else (box_cross, box_main)
    center = {name: xy((rank[name] % per_row) * step_main, across(("lane", rank[name] // per_row, lane[name])))
              for name in rank}
    for target, vertices in routes:
        # the first and last vertices are the gaps beside the two blocks: start and end on their sides
        corners = [xy(column * step_main, across(where)) for column, where in vertices]
        inward = (step_main - box_main) / 2
        (x0, y0), (x1, y1) = corners[0], corners[-1]
        corners[0] = (x0 - inward, y0) if horizontal else (x0, y0 + inward)
        corners[-1] = (x1 + inward, y1) if horizontal else (x1, y1 - inward)
        corners = [corner for i, corner in enumerate(corners) if i == 0 or corner != corners[i - 1]]
        points += corners
        ax.add_patch(FancyArrowPatch(path=Path(corners), arrowstyle="-|>", mutation_scale=9, linewidth=1.0,
                                     color=edge_colors.get(kinds[target], "#404040"), zorder=1))
    for node in graph.nodes:
        x, y = center[node.name]
        points += [(x - width / 2, y - height / 2), (x + width / 2, y + height / 2)]
        ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height, linewidth=0.8,
                                    boxstyle="round,pad=0,rounding_size=0.06", facecolor=KIND_COLORS[node.kind],
                                    edgecolor="#303030", zorder=2))
        name, label, shape = lines[node.name]
        for offset, text, style in ((0.15, name, dict(fontsize=6.5, color="#505050")), (0, label, dict(fontsize=7.5)),
                                    (-0.15, shape, dict(fontsize=7.5, weight="bold"))):
            ax.text(x, y + offset, text, ha="center", va="center", zorder=3, **style)
    for group in dict.fromkeys(node.fold for node in graph.nodes if len(node.fold) > 1):
        for part, row_index in enumerate(dict.fromkeys(rank[name] // per_row for name in group)):  # a frame per row
            corners = np.array([(center[name][0] + sx * width / 2, center[name][1] + sy * height / 2)
                                for name in group if rank[name] // per_row == row_index
                                for sx in (-1, 1) for sy in (-1, 1)])
            (x0, y0), (x1, y1) = corners.min(0) - 0.09, corners.max(0) + 0.09
            points += [(x0, y0), (x1, y1 + 0.2)]
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, linestyle="--", edgecolor="#505050",
                                   zorder=1))
            if part == 0:
                ax.text(x1, y1 + 0.03, f"x{graph.node(group[0]).repeat}", ha="right", va="bottom", fontsize=9,
                        weight="bold")
    for name, matrix in (insets or {}).items():
        matrix = np.asarray(matrix, dtype=float)
        inset_h = inset_height[name]
        inset_w = inset_h * matrix.shape[1] / matrix.shape[0]
        x, y = center[name]
        lowest = lane_zero[rank[name] // per_row] + (n_lanes - 1) * step_cross + box_cross / 2  # below every lane
        x, y = xy(x, lowest + 0.15 + inset_h / 2) if horizontal else (x + width / 2 + 0.3 + inset_w / 2, y)
        extent = (x - inset_w / 2, x + inset_w / 2, y - inset_h / 2, y + inset_h / 2)
        ax.imshow(matrix, cmap="Greys", extent=extent, vmin=0, vmax=max(1.0, matrix.max()), interpolation="nearest",
                  zorder=2)
        ax.add_patch(Rectangle(extent[::2], inset_w, inset_h, fill=False, edgecolor="#303030", linewidth=0.6))
        ax.text(x, extent[2] - 0.04, f"{name}: inputs (rows) x outputs (columns)", ha="center", va="top", fontsize=6.5)
        points += [(extent[0], extent[2] - 0.2), (extent[1], extent[3])]
        ax.annotate("", xy=(x, extent[3]) if horizontal else (extent[0], y), zorder=1,
                    xytext=(center[name][0], center[name][1] - height / 2) if horizontal
                    else (center[name][0] + width / 2, y), arrowprops=dict(arrowstyle="-", linestyle=":", color="#808080"))

    present = list(dict.fromkeys(node.kind for node in graph.nodes))
    handles = [Patch(facecolor=KIND_COLORS[kind], edgecolor="#303030", label=_KIND_NAMES[kind]) for kind in present]
    handles += [Line2D([], [], color=edge_colors[kind], label="into " + _KIND_NAMES[kind].split(" ")[0])
                for kind in ("add", "concat") if kind in present]
    (x_low, y_low), (x_high, y_high) = np.min(points, axis=0), np.max(points, axis=0)
    fig_width = max(x_high - x_low + 0.3, 3.0, 0.085 * len(title or ""))
    columns = max(1, min(len(handles), int(fig_width / 1.45)))
    top = 0.22 * -(-len(handles) // columns) + 0.1 + (0.3 if title else 0)
    fig.set_size_inches(fig_width, y_high - y_low + 0.3 + top)
    ax.set_position([0, 0, 1, 1])
    middle = (x_low + x_high) / 2
    ax.set_xlim(middle - fig_width / 2, middle + fig_width / 2)
    ax.set_ylim(y_low - 0.15, y_high + 0.15 + top)
    ax.set_aspect("equal")
    legend_top = 1 - (0.3 if title else 0.02) / fig.get_figheight()
    fig.legend(handles=handles, loc="upper center", ncol=columns, fontsize=7, frameon=False, handlelength=1.5,
               columnspacing=1.0, borderaxespad=0, bbox_to_anchor=(0.5, legend_top))
    if title:
        fig.suptitle(title, y=1 - 0.04 / fig.get_figheight(), va="top", fontsize=10)
    return fig, graph
