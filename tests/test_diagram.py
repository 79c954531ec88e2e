"""cnnbook.diagram: the drawn architecture is the module's data flow, with the right shapes."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from torch import nn

from cnnbook.diagram import architecture_graph, draw_architecture, trace_graph


def conv_relu(c_in, c_out, kernel=3):
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2), nn.ReLU())


class Residual(nn.Module):
    """conv-BN-ReLU, conv-BN, plus the input, then ReLU (a ResNet basic block)."""

    def __init__(self, channels):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels)
        self.conv2, self.bn2 = nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels)

    def forward(self, x):
        return F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))) + x)


class DenseBlock(nn.Module):
    """Each layer's output concatenated to its input (DenseNet)."""

    def __init__(self, channels, growth, n_layers):
        super().__init__()
        self.layers = nn.ModuleList(nn.Conv2d(channels + i * growth, growth, 3, padding=1) for i in range(n_layers))

    def forward(self, x):
        for layer in self.layers:
            x = torch.cat([x, layer(x)], dim=1)
        return x


class TinyUNet(nn.Module):
    """Two levels of encoder and decoder, the encoder's maps concatenated into the decoder."""

    def __init__(self, c=4):
        super().__init__()
        self.down1, self.down2, self.bottom = conv_relu(1, c), conv_relu(c, 2 * c), conv_relu(2 * c, 4 * c)
        self.up2, self.dec2 = nn.ConvTranspose2d(4 * c, 2 * c, 2, stride=2), conv_relu(4 * c, 2 * c)
        self.up1, self.dec1 = nn.ConvTranspose2d(2 * c, c, 2, stride=2), conv_relu(2 * c, c)
        self.head = nn.Conv2d(c, 2, 1)

    def forward(self, x):
        d1 = self.down1(x)
        d2 = self.down2(F.max_pool2d(d1, 2))
        bottom = self.bottom(F.max_pool2d(d2, 2))
        u2 = self.dec2(torch.cat([self.up2(bottom), d2], dim=1))
        return self.head(self.dec1(torch.cat([self.up1(u2), d1], dim=1)))


def plain_stack():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 10))


def leaf_output_shapes(module, example):
    """What forward hooks, independently of the trace, see each leaf module return."""
    shapes, handles = {}, []

    def record(name):
        def hook(module, inputs, output):
            shapes[name] = tuple(output.shape)
        return hook

    for name, sub in module.named_modules():
        if name and not list(sub.children()):
            handles.append(sub.register_forward_hook(record(name)))
    with torch.no_grad():
        module.eval()(example)
    for handle in handles:
        handle.remove()
    return shapes


def drawn(fig):
    """Blocks and arrows actually on the figure."""
    ax = fig.axes[0]
    return ([p for p in ax.patches if isinstance(p, FancyBboxPatch)], [p for p in ax.patches if isinstance(p, FancyArrowPatch)],
            {t.get_text() for t in ax.texts})


def check_drawing_matches(fig, graph):
    boxes, arrows, texts = drawn(fig)
    assert len(boxes) == len(graph.nodes) and len(arrows) == len(graph.edges)
    for node in graph.nodes:
        assert node.label in texts and "x".join(map(str, node.shape[1:])) in texts
    plt.close(fig)


def test_plain_stack_is_a_chain_with_the_hooks_shapes():
    model, x = plain_stack(), torch.zeros(2, 1, 8, 8)
    graph = trace_graph(model, x)
    names = [node.name for node in graph.nodes]
    assert names[1:] == ["0", "1", "2", "3", "4"] and graph.nodes[0].kind == "input"
    assert graph.edges == list(zip(names, names[1:]))
    shapes = leaf_output_shapes(model, x)
    assert all(node.shape == shapes[node.name] for node in graph.nodes[1:])
    assert [node.kind for node in graph.nodes] == ["input", "conv", "activation", "pool", "reshape", "linear"]
    fig, merged = draw_architecture(model, x)
    assert [node.label for node in merged.nodes] == ["input", "conv 3x3 · ReLU", "max pool 2x2", "flatten", "linear"]
    assert merged.node("0").members == ("0", "1") and merged.node("0").shape == (2, 4, 8, 8)
    check_drawing_matches(fig, merged)


def test_residual_block_has_its_skip_edge_into_the_addition():
    model, x = Residual(8), torch.zeros(1, 8, 6, 6)
    graph = trace_graph(model, x)
    add = next(node for node in graph.nodes if node.kind == "add")
    assert set(graph.predecessors(add.name)) == {"bn2", "x"}  # the residual branch and the skip
    assert [node.name for node in graph.nodes] == ["x", "conv1", "bn1", "relu", "conv2", "bn2", add.name, "relu_1"]
    shapes = leaf_output_shapes(model, x)
    assert all(node.shape == shapes[node.name] for node in graph.nodes if node.name in shapes)
    fig, merged = draw_architecture(model, x)
    assert [node.label for node in merged.nodes] == ["input", "conv 3x3 · BN · ReLU", "conv 3x3 · BN", "add · ReLU"]
    assert set(merged.predecessors(add.name)) == {"conv2", "x"}
    check_drawing_matches(fig, merged)


def test_dense_block_concatenates_every_input_with_the_new_features():
    model, x = DenseBlock(8, 4, 3), torch.zeros(1, 8, 5, 5)
    fig, graph = draw_architecture(model, x)
    concats = [node for node in graph.nodes if node.kind == "concat"]
    assert [node.shape[1] for node in concats] == [12, 16, 20]
    inputs = ["x"] + [node.name for node in concats[:-1]]
    for i, (concat, source) in enumerate(zip(concats, inputs)):
        assert graph.predecessors(concat.name) == [source, f"layers.{i}"]
        assert graph.predecessors(f"layers.{i}") == [source]
    assert graph == trace_graph(model, x)  # no activation to merge, nothing repeated: the trace itself
    check_drawing_matches(fig, graph)


def test_unet_skips_go_from_the_encoder_into_the_decoder():
    model, x = TinyUNet(), torch.zeros(1, 1, 16, 16)
    fig, graph = draw_architecture(model, x)
    concats = [node for node in graph.nodes if node.kind == "concat"]
    assert [graph.predecessors(node.name) for node in concats] == [["up2", "down2.0"], ["up1", "down1.0"]]
    assert [node.shape for node in concats] == [(1, 16, 8, 8), (1, 8, 16, 16)]
    assert graph.node("head").shape == tuple(model(x).shape)
    shapes = leaf_output_shapes(model, x)
    assert all(node.shape == shapes[node.name] for node in graph.nodes if node.name in shapes)
    unmerged = trace_graph(model, x)
    assert {member for node in graph.nodes for member in node.members} == {node.name for node in unmerged.nodes}
    check_drawing_matches(fig, graph)


def test_identical_stages_fold_and_unfold():
    stack = nn.Sequential(conv_relu(1, 4), *[conv_relu(4, 4) for _ in range(3)], nn.MaxPool2d(2))
    x = torch.zeros(1, 1, 8, 8)
    folded = architecture_graph(stack, x)
    assert [(node.label, node.repeat) for node in folded.nodes] == [
        ("input", 1), ("conv 3x3 · ReLU", 1), ("conv 3x3 · ReLU", 3), ("max pool 2x2", 1)]
    assert folded.edges == [("input", "0.0"), ("0.0", "1.0"), ("1.0", "4")]
    unfolded = architecture_graph(stack, x, fold=False)
    assert len(unfolded.nodes) == 6
    assert [m for node in folded.nodes for m in node.members] == [m for node in unfolded.nodes for m in node.members]

    residuals, x = nn.Sequential(*[Residual(4) for _ in range(3)]), torch.zeros(1, 4, 6, 6)
    fig, folded = draw_architecture(residuals, x)
    body = folded.nodes[1:]
    assert len(body) == 3 and {node.repeat for node in body} == {3} and body[0].fold == tuple(n.name for n in body)
    assert set(folded.predecessors(body[-1].name)) == {"input", body[1].name}
    unfolded = architecture_graph(residuals, x, fold=False)
    assert len(unfolded.nodes) == 1 + 3 * 3 and len(unfolded.edges) == 3 * 4
    assert sorted(m for node in folded.nodes for m in node.members) == sorted(m for node in unfolded.nodes for m in node.members)
    check_drawing_matches(fig, folded)


def test_depth_draws_submodules_as_blocks():
    model, x = nn.Sequential(Residual(4), Residual(4), nn.Conv2d(4, 2, 1)), torch.zeros(1, 4, 6, 6)
    graph = architecture_graph(model, x, depth=1, fold=False)
    assert [(node.name, node.label) for node in graph.nodes] == [
        ("input", "input"), ("0", "Residual"), ("1", "Residual"), ("2", "conv 1x1")]
    assert [node.repeat for node in architecture_graph(model, x, depth=1).nodes] == [1, 2, 1]


class Branchy(nn.Module):
    def forward(self, x):
        return x * 2 if x.sum() > 0 else x  # data-dependent: fx cannot trace it


def test_untraceable_module_gets_a_clear_error_and_can_be_a_block():
    model, x = nn.Sequential(nn.Conv2d(1, 2, 3), Branchy()), torch.zeros(1, 1, 5, 5)
    with pytest.raises(ValueError, match="leaf_modules"):
        architecture_graph(model, x)
    graph = architecture_graph(model, x, leaf_modules=(Branchy,), merge=False)
    assert graph.nodes[-1].label == "Branchy" and graph.nodes[-1].shape == (1, 2, 3, 3)


def test_inset_and_both_directions_draw():
    table = np.eye(3, 6, dtype=bool)
    for direction in ("LR", "TB"):
        fig, graph = draw_architecture(plain_stack(), torch.zeros(1, 1, 8, 8), direction=direction, insets={"0": table})
        assert len(fig.axes[0].images) == 1
        check_drawing_matches(fig, graph)
