"""The benchmarks' options that users rely on, run for real as scripts on tiny budgets.

``--test-dir`` of bench/mnist_mlp.py and bench/lenet.py scores the trained model on MNIST's test
files. Here those files hold the packaged held-out digits, written in the real IDX format: the
accuracy the script prints for them must then be the held-out accuracy it prints, to the digit.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnbook import data
from idx_files import write_mnist_test_files

ROOT = Path(__file__).resolve().parent.parent


def run_bench(script: str, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "bench" / script), *arguments], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CNNBOOK_OFFLINE": "1", "OMP_NUM_THREADS": "1"})


@pytest.fixture(scope="module")
def held_out_digits():
    split = data.mnist_subset()
    return np.round(split.x_test[:, 0] * 255).astype(np.uint8), split.y_test


@pytest.mark.parametrize("script, arguments, gzipped", [("mnist_mlp.py", ("--quick",), True),
                                                        ("lenet.py", (), False)])
def test_test_dir_scores_the_trained_model_on_idx_files(tmp_path, held_out_digits, script, arguments, gzipped):
    write_mnist_test_files(tmp_path, *held_out_digits, gzipped=gzipped)
    result = run_bench(script, *arguments, "--epochs", "1", "--seeds", "1", "--test-dir", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    row = re.search(r"trained on mnist_subset +([\d.]+)% +([\d.]+)% +([+-][\d.]+)", result.stdout)
    assert row, f"no row of held-out and test accuracy in the output:\n{result.stdout}"
    held_out, test, gap = map(float, row.groups())
    assert "MNIST test acc (1,000)" in result.stdout
    assert 0.3 < held_out / 100 < 1, "one epoch of training should be far above chance"
    assert test == held_out and gap == 0.0, "the same digits in IDX files must score the held-out accuracy"
    assert "no verdict" in result.stdout  # one epoch is not the recipe


def test_test_dir_without_the_files_stops_before_training_and_says_where_to_put_them(tmp_path):
    result = run_bench("mnist_mlp.py", "--quick", "--test-dir", str(tmp_path))
    assert result.returncode != 0
    assert f"t10k-images-idx3-ubyte (or t10k-images-idx3-ubyte.gz) not found in {tmp_path}" in result.stderr
    assert "== Assignment 1" not in result.stdout, "it should stop before training"
