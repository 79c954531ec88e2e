"""A small training loop that chapters and assignments share (introduced in chapter 4).

::

    from cnnbook.train import fit, evaluate
    history = fit(model, (x_train, y_train), torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                  val=(x_test, y_test), epochs=10)
    history["val_acc"][-1]                       # accuracy after the last epoch
    cnnbook.plot.training_curves(history)        # losses left, accuracies right

Data is either a pair of arrays ``(x, y)`` (numpy or torch; :func:`batches` cuts them into
mini-batches) or any re-iterable of ``(x, y)`` batches, such as a ``torch.utils.data.DataLoader``.
Losses are means over examples; accuracies are reported when the targets are class indices.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .device import pick_device, seed_everything

Batch = tuple[torch.Tensor, torch.Tensor]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def batches(x, y, batch_size: int, shuffle: bool = False,
            generator: torch.Generator | None = None) -> Iterator[Batch]:
    """Yield mini-batches ``(x[i], y[i])`` that together cover every example once.

    ``x`` and ``y`` are arrays or tensors with the same first dimension ``N``; each batch holds
    ``batch_size`` examples (the last one may be smaller) as tensors on the CPU. With ``shuffle``
    the order is a fresh random permutation, drawn from ``generator`` when one is given.
    """
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    if len(x) != len(y):
        raise ValueError(f"x and y hold different numbers of examples: {len(x)} and {len(y)}")
    order = torch.randperm(len(x), generator=generator) if shuffle else torch.arange(len(x))
    for start in range(0, len(x), batch_size):
        index = order[start:start + batch_size]
        yield x[index], y[index]


def _as_batches(data, batch_size: int, shuffle: bool = False,
                generator: torch.Generator | None = None) -> Iterable[Batch]:
    """Arrays ``(x, y)`` become :func:`batches`; anything else is taken to yield batches already."""
    if isinstance(data, (tuple, list)) and len(data) == 2 and not isinstance(data[0], (tuple, list)):
        return batches(data[0], data[1], batch_size, shuffle, generator)
    return data


def _correct(outputs: torch.Tensor, targets: torch.Tensor) -> int | None:
    """How many rows of ``outputs`` (N, C) have their largest score at the class ``targets``
    (N,); ``None`` when the targets are not class indices (a regression, say)."""
    if outputs.ndim != 2 or targets.ndim != 1 or targets.dtype.is_floating_point:
        return None
    return int((outputs.argmax(dim=1) == targets).sum())


@torch.no_grad()
def evaluate(model: nn.Module, x, y=None, loss_fn: LossFn = F.cross_entropy, batch_size: int = 1000,
             device: torch.device | str | None = None) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on a data set, in eval mode (dropout off).

    Call it as ``evaluate(model, x, y)`` with arrays, or ``evaluate(model, loader)`` with an
    iterable of ``(x, y)`` batches. Returns ``(loss, accuracy)``; the accuracy is ``nan`` when
    the targets are not class indices. The model's train/eval mode is restored afterwards.
    """
    data = x if y is None else (x, y)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    total_loss, total_correct, count, has_accuracy = 0.0, 0, 0, True
    try:
        for inputs, targets in _as_batches(data, batch_size):
            inputs, targets = inputs.to(device), targets.to(device)
            outputs = model(inputs)
            total_loss += float(loss_fn(outputs, targets)) * len(inputs)
            correct = _correct(outputs, targets)
            has_accuracy = has_accuracy and correct is not None
            total_correct += correct or 0
            count += len(inputs)
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("evaluate() got an empty data set")
    return total_loss / count, (total_correct / count if has_accuracy else float("nan"))


def fit(model: nn.Module, train, optimizer: torch.optim.Optimizer, *, val=None, epochs: int = 1,
        loss_fn: LossFn = F.cross_entropy, batch_size: int = 64,
        scheduler: torch.optim.lr_scheduler.LRScheduler | None = None, scheduler_per_batch: bool = False,
        augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
        device: torch.device | str | None = None, seed: int | None = None,
        progress: bool = True) -> dict[str, list[float]]:
    """Train ``model`` with mini-batch gradient descent and return its per-epoch history.

    - ``train``: arrays ``(x, y)``, shuffled every epoch into batches of ``batch_size``, or an
      iterable of ``(x, y)`` batches (a ``DataLoader``), used as it is;
    - ``optimizer``: built on ``model.parameters()``; ``scheduler``, if any, is stepped after
      every epoch, or after every batch with ``scheduler_per_batch``;
    - ``augment``: a function applied to each training batch of inputs (on the device), e.g.
      random shifts; never applied to ``val``;
    - ``device``: where to train (default :func:`cnnbook.device.pick_device`); the model is
      moved there and each batch follows it;
    - ``seed``: seeds every generator first (:func:`cnnbook.device.seed_everything`), so the
      shuffling and any dropout are repeatable;
    - ``progress``: show a tqdm bar over epochs with the latest metrics.

    Returns ``{"train_loss": [...], "train_acc": [...], "val_loss": [...], "val_acc": [...]}``,
    one value per epoch. The training numbers are averages over the epoch's batches, measured
    while the weights change (and with dropout on); the validation numbers come from
    :func:`evaluate` after the epoch. Without ``val`` the ``val_`` keys are absent, and the
    ``_acc`` keys are absent when the targets are not class indices.
    """
    if seed is not None:
        seed_everything(seed)
    device = torch.device(device) if device is not None else pick_device()
    model.to(device)
    history: dict[str, list[float]] = {"train_loss": [], "train_acc": []}
    if val is not None:
        history.update(val_loss=[], val_acc=[])
    epochs_bar = tqdm(range(epochs), desc="training", unit="epoch", disable=not progress)
    for _ in epochs_bar:
        model.train()
        total_loss, total_correct, count, has_accuracy = 0.0, 0, 0, True
        for inputs, targets in _as_batches(train, batch_size, shuffle=True):
            inputs, targets = inputs.to(device), targets.to(device)
            if augment is not None:
                inputs = augment(inputs)
            outputs = model(inputs)
            loss = loss_fn(outputs, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None and scheduler_per_batch:
                scheduler.step()
            total_loss += float(loss.detach()) * len(inputs)
            correct = _correct(outputs.detach(), targets)
            has_accuracy = has_accuracy and correct is not None
            total_correct += correct or 0
            count += len(inputs)
        if scheduler is not None and not scheduler_per_batch:
            scheduler.step()
        history["train_loss"].append(total_loss / count)
        history["train_acc"].append(total_correct / count if has_accuracy else float("nan"))
        if val is not None:
            val_loss, val_acc = evaluate(model, val, loss_fn=loss_fn, device=device)
            history["val_loss"].append(val_loss)
            history["val_acc"].append(val_acc)
        epochs_bar.set_postfix({key: f"{values[-1]:.3g}" for key, values in history.items()})
    for key in [key for key, values in history.items() if key.endswith("_acc") and np.isnan(values).all()]:
        del history[key]
    return history
