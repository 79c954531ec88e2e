"""cnnbook.train: mini-batches, evaluation and the shared training loop."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnbook.train import batches, evaluate, fit


def blobs(n_per_class=60, seed=0):
    """Three well separated Gaussian blobs in the plane: an easy 3-class problem."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    x = np.concatenate([c + 0.5 * rng.standard_normal((n_per_class, 2)) for c in centers])
    y = np.repeat(np.arange(3), n_per_class)
    return x.astype(np.float32), y.astype(np.int64)


def test_batches_cover_every_example_once():
    x, y = np.arange(10, dtype=np.float32)[:, None], np.arange(10)
    sizes, seen = [], []
    for xb, yb in batches(x, y, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(0)):
        assert torch.equal(xb[:, 0].long(), yb)  # rows stay paired with their labels
        sizes.append(len(xb))
        seen += yb.tolist()
    assert sizes == [4, 4, 2]
    assert sorted(seen) == list(range(10)) and seen != list(range(10))


def test_batches_keep_order_without_shuffle_and_check_lengths():
    x, y = np.zeros((5, 3)), np.arange(5)
    assert [yb.tolist() for _, yb in batches(x, y, 2)] == [[0, 1], [2, 3], [4]]
    with pytest.raises(ValueError, match="different numbers"):
        next(batches(x, y[:4], 2))


def test_evaluate_matches_a_direct_computation_and_restores_mode():
    x, y = blobs()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3))
    model.train()
    loss, accuracy = evaluate(model, x, y, batch_size=7)  # uneven batches: a weighted mean is needed
    assert model.training
    model.eval()
    with torch.no_grad():
        scores = model(torch.from_numpy(x))
    assert loss == pytest.approx(float(F.cross_entropy(scores, torch.from_numpy(y))), rel=1e-5)
    assert accuracy == pytest.approx(float((scores.argmax(1) == torch.from_numpy(y)).float().mean()))
    assert evaluate(model, list(batches(x, y, 50))) == pytest.approx((loss, accuracy), rel=1e-5)


def test_evaluate_without_class_labels_reports_nan_accuracy():
    x = torch.randn(20, 3)
    model = nn.Linear(3, 1)
    loss, accuracy = evaluate(model, x, 2 * x[:, :1], loss_fn=F.mse_loss)
    assert loss > 0 and math.isnan(accuracy)


def test_fit_learns_an_easy_problem_and_records_every_epoch():
    x, y = blobs()
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    torch.manual_seed(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    history = fit(model, (x, y), optimizer, val=blobs(seed=1), epochs=5, batch_size=32,
                  device="cpu", seed=0, progress=False)
    assert set(history) == {"train_loss", "train_acc", "val_loss", "val_acc"}
    assert all(len(values) == 5 for values in history.values())
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["val_acc"][-1] > 0.95


def test_fit_is_repeatable_with_a_seed():
    x, y = blobs()

    def run():
        torch.manual_seed(123)
        model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        return fit(model, (x, y), optimizer, epochs=2, device="cpu", seed=7, progress=False)

    assert run() == run()


def test_fit_accepts_a_dataloader_a_scheduler_and_an_augmentation():
    x, y = blobs()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                                         batch_size=30, shuffle=True)
    model = nn.Linear(2, 3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    seen_sizes = []

    def augment(inputs):
        seen_sizes.append(len(inputs))
        return inputs + 0.01 * torch.randn_like(inputs)

    history = fit(model, loader, optimizer, epochs=3, scheduler=scheduler, augment=augment,
                  device="cpu", progress=False)
    assert sum(seen_sizes) == 3 * len(x)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**3)
    assert "val_loss" not in history and len(history["train_acc"]) == 3


def test_fit_steps_the_scheduler_per_batch_when_asked_and_handles_regression():
    x = torch.randn(40, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    model = nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 / (1 + step))
    history = fit(model, (x, y), optimizer, epochs=2, batch_size=10, loss_fn=F.mse_loss,
                  scheduler=scheduler, scheduler_per_batch=True, device="cpu", progress=False)
    assert set(history) == {"train_loss"}  # no accuracy for a regression
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 / 9)  # 8 batches stepped
