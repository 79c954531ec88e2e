"""Every "you should see about ..." figure a notebook or page states is a measured one.

A stated figure is quoted from a benchmark's results file (``bench/results/NAME.json``, written
by ``bench/_common.save_results`` when the benchmark runs). Each row of ``STATED`` says where the
figure is written, the text around it, and which measured value it quotes; the test fails when
the text and the file disagree, so re-running a benchmark that moves a figure forces the text to
follow (or the recipe to be fixed).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


@dataclass(frozen=True)
class Stated:
    source: str    # a solution notebook or a book page, relative to the repository root
    pattern: str   # a regular expression with one group: the figure as written
    results: str   # the results file's name (bench/results/NAME.json)
    key: str       # the value in its "values"
    digits: int    # decimals the text rounds to

    def __str__(self) -> str:
        return f"{self.source}: {self.results}.{self.key}"


# One row per figure that a notebook or page quotes from a benchmark.
STATED: list[Stated] = [
    Stated("solutions/a5_resnet/a5_resnet.ipynb", r"reached \*\*([\d.]+)%\*\* test accuracy\s+\(`bench/resnet_cifar\.py`",
           "resnet_cifar_small", "test_accuracy_percent", 1),
    Stated("book/assignments/a5_resnet.md", r"reached \*\*([\d.]+)%\*\* test accuracy with seed 0",
           "resnet_cifar_small", "test_accuracy_percent", 1),
    Stated("solutions/a5_resnet/a5_resnet.ipynb", r"costs about \*\*(\d+) s\*\* of processor time",
           "resnet_cifar_small", "train_cpu_seconds", 0),
    Stated("book/assignments/a5_resnet.md", r"its training took (\d+) s of\s+processor time",
           "resnet_cifar_small", "train_cpu_seconds", 0),
    Stated("book/assignments/a5_resnet.md", r"\((\d+) s of wall time, while other programs",
           "resnet_cifar_small", "train_seconds", 0),
    # Assignment 1 (bench/mnist_mlp.py): the recipe's held-out accuracy over five seeds, in percent.
    Stated("solutions/a1_backprop/a1_backprop.ipynb", r"trained with this recipe reaches\s+\*\*([\d.]+)% on the held-out",
           "mnist_mlp", "held_out_mean_percent", 1),
    Stated("solutions/a1_backprop/a1_backprop.ipynb", r"with a standard deviation of\s+([\d.]+) points\*\*",
           "mnist_mlp", "held_out_std_percent", 2),
    Stated("solutions/a1_backprop/a1_backprop.ipynb", r"\(lowest ([\d.]+)%; `bench/mnist_mlp.py`",
           "mnist_mlp", "held_out_min_percent", 1),
    Stated("solutions/a1_backprop/a1_backprop.ipynb", r"the same recipe reaches ([\d.]+)% on average",
           "mnist_mlp", "held_out_without_copies_percent", 1),
    Stated("book/assignments/a1_backprop.md", r"reaches on average \*\*([\d.]+)% on the 1,000 held-out digits",
           "mnist_mlp", "held_out_mean_percent", 1),
    Stated("book/assignments/a1_backprop.md", r"five seeds \(standard deviation ([\d.]+) points\)",
           "mnist_mlp", "held_out_std_percent", 2),
    # Assignment 3 (bench/lenet.py): the recipe's held-out accuracy over five seeds, in percent.
    Stated("solutions/a3_lenet/a3_lenet.ipynb", r"Our\s+solution reaches ([\d.]+)% on average over five seeds",
           "lenet", "held_out_mean_percent", 1),
    Stated("solutions/a3_lenet/a3_lenet.ipynb", r"over five seeds \(standard deviation ([\d.]+) points\)\.",
           "lenet", "held_out_std_percent", 2),
    Stated("solutions/a3_lenet/a3_lenet.ipynb", r"without the copies reaches ([\d.]+)% on the held-out",
           "lenet", "held_out_without_copies_percent", 1),
    Stated("solutions/a3_lenet/a3_lenet.ipynb", r"with them, \*\*([\d.]+)% \(standard deviation",
           "lenet", "held_out_mean_percent", 1),
    Stated("solutions/a3_lenet/a3_lenet.ipynb", r"\(standard deviation ([\d.]+) points, lowest seed",
           "lenet", "held_out_std_percent", 2),
    Stated("solutions/a3_lenet/a3_lenet.ipynb", r"lowest seed ([\d.]+)%\)\*\*",
           "lenet", "held_out_min_percent", 1),
    Stated("solutions/a3_lenet/a3_lenet.ipynb", r"gets about (\d+) of every 100 held-out",
           "lenet", "held_out_mean_percent", 0),
    Stated("book/assignments/a3_lenet.md", r"reaches on average ([\d.]+)% over five seeds",
           "lenet", "held_out_mean_percent", 1),
    Stated("book/assignments/a3_lenet.md", r"over five seeds \(standard deviation ([\d.]+) points\)",
           "lenet", "held_out_std_percent", 2),
    # Assignments 2, 4, 6, 7, 8 and 9 (bench/notebooks.py): the finished notebook's run time on 2 CPU cores.
    Stated("solutions/a2_conv/a2_conv.ipynb", r"finished notebook ran in (\d+) s on 2 CPU cores",
           "notebooks", "a2_conv_seconds", 0),
    Stated("book/assignments/a2_conv.md", r"finished notebook ran in (\d+) s on 2 CPU cores",
           "notebooks", "a2_conv_seconds", 0),
    Stated("solutions/a4_batchnorm/a4_batchnorm.ipynb", r"finished notebook ran in (\d+) s on 2 CPU cores",
           "notebooks", "a4_batchnorm_seconds", 0),
    Stated("book/assignments/a4_batchnorm.md", r"finished notebook ran in (\d+) s on 2 CPU cores",
           "notebooks", "a4_batchnorm_seconds", 0),
    Stated("solutions/a6_transfer/a6_transfer.ipynb", r"finished notebook ran in (\d+) s on 2 CPU cores",
           "notebooks", "a6_transfer_seconds", 0),
    Stated("book/assignments/a6_transfer.md", r"finished notebook ran in (\d+) s on 2 CPU cores",
           "notebooks", "a6_transfer_seconds", 0),
    Stated("solutions/a7_unet/a7_unet.ipynb", r"finished notebook ran in (\d+) s on 2 CPU cores",
           "notebooks", "a7_unet_seconds", 0),
    Stated("book/assignments/a7_unet.md", r"finished notebook ran in (\d+) s on 2 CPU cores",
           "notebooks", "a7_unet_seconds", 0),
    Stated("solutions/a8_visualize_attack/a8_visualize_attack.ipynb", r"finished notebook ran in (\d+) s on 2 CPU cores",
           "notebooks", "a8_visualize_attack_seconds", 0),
    Stated("book/assignments/a8_visualize_attack.md", r"finished notebook ran in (\d+) s on 2 CPU cores",
           "notebooks", "a8_visualize_attack_seconds", 0),
    Stated("solutions/a9_detection/a9_detection.ipynb", r"finished notebook ran in (\d+) s on 2 CPU cores",
           "notebooks", "a9_detection_seconds", 0),
    Stated("book/assignments/a9_detection.md", r"finished notebook ran in (\d+) s on 2 CPU cores",
           "notebooks", "a9_detection_seconds", 0),
]


def source_text(relative: str) -> str:
    """The text a reader sees: a notebook's markdown cells, or a page's source."""
    path = ROOT / relative
    if path.suffix == ".ipynb":
        notebook = nbformat.read(path, as_version=4)
        return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    return path.read_text()


def measured(stated: Stated) -> float:
    path = RESULTS / f"{stated.results}.json"
    assert path.exists(), f"{path} is missing: run bench/{stated.results}.py to measure it"
    values = json.loads(path.read_text())["values"]
    assert stated.key in values, f"{path} has no {stated.key!r}: re-run its benchmark"
    return float(values[stated.key])


@pytest.mark.parametrize("stated", STATED, ids=str)
def test_stated_figure_is_the_measured_one(stated):
    found = re.findall(stated.pattern, source_text(stated.source))
    assert len(found) == 1, f"{stated.source}: expected one match of {stated.pattern!r}, found {len(found)}"
    written = float(found[0].replace(",", ""))
    assert written == round(measured(stated), stated.digits), (
        f"{stated.source} states {found[0]} but bench/results/{stated.results}.json measured "
        f"{measured(stated):.{stated.digits + 2}f}: update the text from the results file")


def test_every_results_file_is_well_formed():
    for path in sorted(RESULTS.glob("*.json")):
        record = json.loads(path.read_text())
        assert {"values", "measured", "machine"} <= set(record), f"{path} lacks its measurement context"
        assert all(isinstance(value, (int, float)) for value in record["values"].values()), path
