"""cnnbook.data downloads, exercised for real against a loopback HTTP server (never the network).

The server runs in a thread on 127.0.0.1 and an ephemeral port and serves small files in the
true formats: gzipped IDX for MNIST, the CIFAR-10 python tarball with Python-2 pickles.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import pickle
import socket
import struct
import tarfile
import threading

import numpy as np
import pytest

from cnnbook import data
from cnnbook.data import cifar, digits
from idx_files import idx_bytes


class LoopbackServer:
    """Serves ``files`` (name -> bytes) at ``url``; records every request path in ``requests``.

    A name in ``truncated`` is sent with its full Content-Length but only half of its bytes,
    then the connection is closed: an interrupted transfer.
    """

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.truncated: set[str] = set()
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.lstrip("/")
                server.requests.append(name)
                if name not in server.files:
                    self.send_error(404)
                    return
                body = server.files[name]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if name in server.truncated:
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                else:
                    self.wfile.write(body)

            def log_message(self, *args):  # keep the test output quiet
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def serve(self, name: str, body: bytes) -> str:
        """Serve ``body`` as ``name``; return its SHA-256."""
        self.files[name] = body
        return hashlib.sha256(body).hexdigest()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    loopback = LoopbackServer()
    yield loopback
    loopback.close()


@pytest.fixture
def down_url():
    """A loopback URL where nothing listens: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(autouse=True)
def data_directory(tmp_path, monkeypatch):
    directory = tmp_path / "cnnbook-data"
    monkeypatch.setenv("CNNBOOK_DATA", str(directory))
    monkeypatch.delenv("CNNBOOK_OFFLINE", raising=False)
    return directory


def leftovers(directory):
    """Files in ``directory`` other than complete downloads: temporary or partial ones."""
    return [path.name for path in directory.rglob("*") if path.name.startswith(".") or path.suffix == ".part"]


# ---------------------------------------------------------------- the generic downloader

def test_download_verifies_and_renames_into_place(server, data_directory):
    body = bytes(range(256)) * 4000  # ~1 MB: several chunks
    sha256 = server.serve("file.bin", body)
    destination = data_directory / "set" / "file.bin"
    assert data.download([server.url + "file.bin"], sha256, destination, progress=False) == destination
    assert destination.read_bytes() == body
    assert leftovers(data_directory) == []


def test_a_cached_or_staged_file_is_checked_but_not_downloaded_again(server, data_directory):
    body = b"staged by a TA"
    sha256 = server.serve("file.bin", body)
    destination = data_directory / "file.bin"
    data_directory.mkdir()
    destination.write_bytes(body)
    data.download([server.url + "file.bin"], sha256, destination, progress=False)
    data.download([server.url + "file.bin"], sha256, destination, progress=False)
    assert server.requests == []


def test_a_checksum_mismatch_names_the_file_and_leaves_nothing(server, data_directory):
    server.serve("file.bin", b"not what we expected")
    destination = data_directory / "file.bin"
    with pytest.raises(data.ChecksumMismatch, match="file.bin.*SHA-256"):
        data.download([server.url + "file.bin"], "0" * 64, destination, progress=False)
    assert not destination.exists() and leftovers(data_directory) == []


def test_a_wrong_cached_file_is_an_error_that_says_to_delete_it(data_directory):
    data_directory.mkdir()
    (data_directory / "file.bin").write_bytes(b"truncated")
    with pytest.raises(data.ChecksumMismatch, match=r"file\.bin.*delete it"):
        data.download(["http://127.0.0.1:9/never-asked"], "0" * 64, data_directory / "file.bin")


def test_an_unreachable_server_gives_one_line_naming_the_file_and_the_directory(down_url, data_directory):
    destination = data_directory / "mnist" / "file.bin"
    with pytest.raises(data.DatasetUnavailable) as error:
        data.download([down_url + "file.bin"], "0" * 64, destination, progress=False)
    message = str(error.value)
    assert "\n" not in message and "file.bin" in message and str(destination.parent) in message
    assert not destination.exists() and leftovers(data_directory) == []


def test_an_interrupted_transfer_leaves_no_partial_file(server, data_directory):
    sha256 = server.serve("big.bin", b"x" * 300_000)
    server.truncated.add("big.bin")
    destination = data_directory / "big.bin"
    with pytest.raises(data.DatasetUnavailable, match="interrupted"):
        data.download([server.url + "big.bin"], sha256, destination, progress=False)
    assert server.requests == ["big.bin"]
    assert not destination.exists() and leftovers(data_directory) == []


def test_the_next_mirror_is_tried_when_one_fails(server, down_url, data_directory):
    sha256 = server.serve("file.bin", b"payload")
    mirrors = [down_url + "file.bin", server.url + "missing/file.bin", server.url + "file.bin"]
    data.download(mirrors, sha256, data_directory / "file.bin", progress=False)
    assert (data_directory / "file.bin").read_bytes() == b"payload"
    assert server.requests == ["missing/file.bin", "file.bin"]


def test_cnnbook_offline_disables_downloads_without_a_request(server, data_directory, monkeypatch):
    monkeypatch.setenv("CNNBOOK_OFFLINE", "1")
    sha256 = server.serve("file.bin", b"payload")
    with pytest.raises(data.DatasetUnavailable, match="CNNBOOK_OFFLINE"):
        data.download([server.url + "file.bin"], sha256, data_directory / "file.bin")
    assert server.requests == []


# ---------------------------------------------------------------- MNIST: gzipped IDX files

@pytest.fixture
def fake_mnist(server, monkeypatch):
    """Serve a 12-image training set and a 5-image test set in MNIST's four files."""
    rng = np.random.default_rng(0)
    arrays = {"train-images-idx3-ubyte.gz": rng.integers(0, 256, (12, 28, 28)),
              "train-labels-idx1-ubyte.gz": rng.integers(0, 10, 12),
              "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (5, 28, 28)),
              "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, 5)}
    checksums = {name: server.serve(name, idx_bytes(array)) for name, array in arrays.items()}
    monkeypatch.setattr(digits, "MNIST_MIRRORS", (server.url,))
    monkeypatch.setattr(digits, "MNIST_SHA256", checksums)
    return arrays


def test_mnist_downloads_parses_and_then_reads_from_the_cache(fake_mnist, server, data_directory):
    x_train, y_train, x_test, y_test = data.mnist()
    assert x_train.shape == (12, 1, 28, 28) and x_test.shape == (5, 1, 28, 28)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    np.testing.assert_allclose(x_train[:, 0] * 255, fake_mnist["train-images-idx3-ubyte.gz"], atol=1e-4)
    np.testing.assert_array_equal(y_test, fake_mnist["t10k-labels-idx1-ubyte.gz"])
    assert sorted(server.requests) == sorted(fake_mnist)
    assert sorted(path.name for path in (data_directory / "mnist").iterdir()) == sorted(fake_mnist)
    assert data.mnist(flatten=True).x_train.shape == (12, 784)
    assert len(server.requests) == 4  # the second call used the cache


def test_mnist_unavailable_names_every_missing_file_and_where_to_stage_them(down_url, monkeypatch,
                                                                            data_directory):
    monkeypatch.setattr(digits, "MNIST_MIRRORS", (down_url,))
    with pytest.raises(data.DatasetUnavailable) as error:
        data.mnist()
    message = str(error.value)
    assert "\n" not in message and str(data_directory / "mnist") in message
    assert all(name in message for name in digits.MNIST_SHA256)


def test_a_file_that_is_not_idx_is_rejected_by_name(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(b"<html>captive portal</html>"))
    with pytest.raises(ValueError, match="labels.gz is not an IDX file"):
        digits.read_idx(path, digits.IDX_LABELS_MAGIC)


def test_load_falls_back_to_the_packaged_subset_and_says_so(down_url, monkeypatch, capsys):
    monkeypatch.setattr(digits, "MNIST_MIRRORS", (down_url,))
    loaded = data.load("mnist")
    assert loaded.name == "mnist_subset" and loaded.x_train.shape == (4000, 1, 28, 28)
    printed = capsys.readouterr().out
    assert "mnist_subset" in printed.lower() or "MNIST subset" in printed
    assert "stand-in" in printed and printed.count("\n") == 1
    with pytest.raises(data.DatasetUnavailable):
        data.load("mnist", fallback=False)


def test_load_does_not_hide_a_wrong_file_behind_a_fallback(server, monkeypatch):
    names = list(digits.MNIST_SHA256)
    for name in names:
        server.serve(name, b"a different file")
    monkeypatch.setattr(digits, "MNIST_MIRRORS", (server.url,))
    with pytest.raises(data.ChecksumMismatch, match=names[0]):
        data.load("mnist")


# ---------------------------------------------------------------- CIFAR-10: the python tarball

class Python2Pickler(pickle._Pickler):
    """Pickles bytes as Python 2 ``str`` (SHORT_BINSTRING), as the CIFAR-10 batches were written."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_python2_str(self, obj: bytes):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_python2_str


def python2_pickle(batch: dict) -> bytes:
    buffer = io.BytesIO()
    Python2Pickler(buffer, protocol=2).dump(batch)
    # NumPy 1 (and Python 2) named the array reconstructor's module numpy.core.multiarray.
    return buffer.getvalue().replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def cifar_tarball(batches: dict[str, tuple[np.ndarray, np.ndarray]]) -> bytes:
    """``cifar-10-python.tar.gz``: ``cifar-10-batches-py/<batch>`` pickles plus ``batches.meta``."""
    members = {name: {b"batch_label": name.encode(), b"labels": [int(label) for label in labels],
                      b"data": images.reshape(len(images), 3072).astype(np.uint8),
                      b"filenames": [b"image_%d.png" % i for i in range(len(images))]}
               for name, (images, labels) in batches.items()}
    members["batches.meta"] = {b"label_names": [name.encode() for name in data.CIFAR10_CLASSES],
                               b"num_cases_per_batch": 10000, b"num_vis": 3072}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in members.items():
            raw = python2_pickle(content)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return buffer.getvalue()


def test_cifar10_downloads_and_reads_the_python_tarball(server, monkeypatch, data_directory):
    rng = np.random.default_rng(1)
    batches = {name: (rng.integers(0, 256, (3, 3, 32, 32)), rng.integers(0, 10, 3))
               for name in (*cifar.CIFAR10_TRAIN_BATCHES, cifar.CIFAR10_TEST_BATCH)}
    sha256 = server.serve(cifar.CIFAR10_ARCHIVE, cifar_tarball(batches))
    monkeypatch.setattr(cifar, "CIFAR10_MIRRORS", (server.url,))
    monkeypatch.setattr(cifar, "CIFAR10_SHA256", {cifar.CIFAR10_ARCHIVE: sha256})

    x_train, y_train, x_test, y_test = data.cifar10()
    assert x_train.shape == (15, 3, 32, 32) and x_test.shape == (3, 3, 32, 32)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    expected = np.concatenate([batches[name][0] for name in cifar.CIFAR10_TRAIN_BATCHES])
    np.testing.assert_allclose(x_train * 255, expected, atol=1e-4)  # planes R, G, B in that order
    np.testing.assert_array_equal(y_test, batches[cifar.CIFAR10_TEST_BATCH][1])
    assert (data_directory / "cifar10" / cifar.CIFAR10_ARCHIVE).exists()
    data.cifar10()
    assert server.requests == [cifar.CIFAR10_ARCHIVE]


def test_an_archive_without_the_batches_is_rejected_by_name(server, monkeypatch):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz"):
        pass
    sha256 = server.serve(cifar.CIFAR10_ARCHIVE, buffer.getvalue())
    monkeypatch.setattr(cifar, "CIFAR10_MIRRORS", (server.url,))
    monkeypatch.setattr(cifar, "CIFAR10_SHA256", {cifar.CIFAR10_ARCHIVE: sha256})
    with pytest.raises(ValueError, match="cifar-10-batches-py/data_batch_1"):
        data.cifar10()
