"""cnnbook.data downloads, exercised for real against a loopback HTTP server (never the network).

The server runs in a thread on 127.0.0.1 and an ephemeral port and serves small files in the
true formats: gzipped IDX for MNIST, the CIFAR-10 python tarball with Python-2 pickles. The
loaders download only when asked (``download=True`` or ``CNNBOOK_DOWNLOAD=1``), never when
``CNNBOOK_OFFLINE=1``; ``make publish``'s check of the real sets asks.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import socket
import tarfile
import threading

import numpy as np
import pytest

from cnnbook import data
from cifar_files import cifar_tarball
from cnnbook.data import cifar, digits, microscopy, registry
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
    for variable in ("CNNBOOK_OFFLINE", "CNNBOOK_DOWNLOAD", "CNNBOOK_STANDINS"):
        monkeypatch.delenv(variable, raising=False)
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


def test_mnist_downloads_when_asked_parses_and_then_reads_from_the_cache(fake_mnist, server, data_directory):
    x_train, y_train, x_test, y_test = data.mnist(download=True)
    assert x_train.shape == (12, 1, 28, 28) and x_test.shape == (5, 1, 28, 28)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    np.testing.assert_allclose(x_train[:, 0] * 255, fake_mnist["train-images-idx3-ubyte.gz"], atol=1e-4)
    np.testing.assert_array_equal(y_test, fake_mnist["t10k-labels-idx1-ubyte.gz"])
    assert sorted(server.requests) == sorted(fake_mnist)
    assert sorted(path.name for path in (data_directory / "mnist").iterdir()) == sorted(fake_mnist)
    assert data.mnist(flatten=True).x_train.shape == (12, 784)
    assert len(server.requests) == 4  # the second call, which did not ask, used the cache


def test_mnist_unavailable_names_every_missing_file_and_where_to_stage_them(down_url, monkeypatch,
                                                                            data_directory):
    monkeypatch.setattr(digits, "MNIST_MIRRORS", (down_url,))
    with pytest.raises(data.DatasetUnavailable) as error:
        data.mnist(download=True)
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
    loaded = data.load("mnist", download=True)
    assert loaded.name == "mnist_subset" and loaded.x_train.shape == (4000, 1, 28, 28)
    assert loaded.requested == "mnist" and loaded.is_standin and "could not download" in loaded.reason
    printed = capsys.readouterr().out
    assert "mnist_subset" in printed.lower() or "MNIST subset" in printed
    assert "stand-in" in printed and printed.count("\n") == 1
    with pytest.raises(data.DatasetUnavailable):
        data.load("mnist", fallback=False, download=True)


def test_load_does_not_hide_a_wrong_file_behind_a_fallback(server, monkeypatch):
    names = list(digits.MNIST_SHA256)
    for name in names:
        server.serve(name, b"a different file")
    monkeypatch.setattr(digits, "MNIST_MIRRORS", (server.url,))
    with pytest.raises(data.ChecksumMismatch, match=names[0]):
        data.load("mnist", download=True)


# ---------------------------------------------------------------- CIFAR-10: the python tarball

@pytest.fixture
def fake_cifar(server, monkeypatch):
    """Serve a CIFAR-10 archive of 3 images per batch; load("cifar10")'s stand-in is 120 images."""
    rng = np.random.default_rng(2)
    batches = {name: (rng.integers(0, 256, (3, 3, 32, 32)), rng.integers(0, 10, 3))
               for name in (*cifar.CIFAR10_TRAIN_BATCHES, cifar.CIFAR10_TEST_BATCH)}
    sha256 = server.serve(cifar.CIFAR10_ARCHIVE, cifar_tarball(batches))
    monkeypatch.setattr(cifar, "CIFAR10_MIRRORS", (server.url,))
    monkeypatch.setattr(cifar, "CIFAR10_SHA256", {cifar.CIFAR10_ARCHIVE: sha256})
    small = registry.DATASETS["shapes10"]._replace(loader=lambda: data.shapes10(100, 20))
    monkeypatch.setitem(registry.DATASETS, "shapes10", small)
    return batches


def test_cifar10_downloads_when_asked_and_reads_the_python_tarball(server, fake_cifar, data_directory):
    batches = fake_cifar
    x_train, y_train, x_test, y_test = data.cifar10(download=True)
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
        data.cifar10(download=True)


# ---------------------------------------------------------------- nothing downloaded unless asked



def test_load_downloads_nothing_unless_asked_and_says_how_to_ask(fake_cifar, server, data_directory, capsys):
    loaded = data.load("cifar10")
    assert server.requests == [] and loaded.name == "shapes10" and loaded.is_standin
    printed = capsys.readouterr().out
    assert printed.count("\n") == 1
    assert 'data.load("cifar10", download=True)' in printed and "CNNBOOK_DOWNLOAD=1" in printed
    assert "170 MB" in printed and "data.cifar10() says which files to stage where" in printed
    with pytest.raises(data.DatasetUnavailable) as error:
        data.cifar10()
    message = str(error.value)
    assert server.requests == [] and "\n" not in message
    assert cifar.CIFAR10_ARCHIVE in message and str(data_directory / "cifar10") in message
    assert "download=True" in message and "CNNBOOK_DOWNLOAD=1" in message


def test_load_downloads_when_asked_then_reads_the_cache_without_asking(fake_cifar, server, capsys):
    loaded = data.load("cifar10", download=True)
    assert loaded.name == loaded.requested == "cifar10" and not loaded.is_standin and loaded.reason == ""
    assert loaded.x_train.shape == (15, 3, 32, 32) and server.requests == [cifar.CIFAR10_ARCHIVE]
    assert data.load("cifar10").name == "cifar10" and len(server.requests) == 1
    assert capsys.readouterr().out == "cifar10: using CIFAR-10.\n" * 2


def test_cnnbook_download_asks_and_download_false_overrules_it(fake_cifar, server, monkeypatch):
    monkeypatch.setenv("CNNBOOK_DOWNLOAD", "1")
    assert data.load("cifar10", download=False).name == "shapes10" and server.requests == []
    assert data.load("cifar10").name == "cifar10" and server.requests == [cifar.CIFAR10_ARCHIVE]


def test_cnnbook_offline_forbids_even_an_asked_download(fake_cifar, server, monkeypatch):
    monkeypatch.setenv("CNNBOOK_OFFLINE", "1")
    with pytest.raises(data.DatasetUnavailable, match="CNNBOOK_OFFLINE"):
        data.cifar10(download=True)
    assert data.load("cifar10", download=True).name == "shapes10" and server.requests == []


def test_cnnbook_standins_1_uses_them_even_when_the_real_set_is_cached(fake_cifar, monkeypatch, capsys):
    data.cifar10(download=True)
    monkeypatch.setenv("CNNBOOK_STANDINS", "1")
    loaded = data.load("cifar10")
    assert loaded.name == "shapes10" and "CNNBOOK_STANDINS=1" in capsys.readouterr().out
    assert data.load("shapes10").name == "shapes10"  # a stand-in asked for by name is no stand-in
    monkeypatch.setenv("CNNBOOK_STANDINS", "yes")
    with pytest.raises(ValueError, match="CNNBOOK_STANDINS"):
        data.load("cifar10")


def test_cnnbook_standins_0_makes_a_missing_real_set_an_error(fake_cifar, server, monkeypatch):
    monkeypatch.setenv("CNNBOOK_STANDINS", "0")
    with pytest.raises(data.DatasetUnavailable, match="CNNBOOK_STANDINS=0.*no stand-in"):
        data.load("cifar10")
    assert data.load("cifar10", download=True).name == "cifar10"
    assert data.load("mnist_subset").name == "mnist_subset"  # sets without a stand-in are unaffected


def test_missing_real_data_downloads_what_it_may_and_names_what_to_stage(fake_cifar, fake_mnist, server,
                                                                          data_directory, tmp_path, monkeypatch):
    monkeypatch.setattr(microscopy, "PROJECT_SHARED_MEMBRANES", tmp_path / "nowhere")
    assert data.missing_real_data(download=False).keys() == {"mnist", "cifar10", "membranes"}
    assert server.requests == []
    missing = data.missing_real_data()
    assert missing.keys() == {"membranes"} and "isbi2012-membranes" in missing["membranes"]
    assert sorted(server.requests) == sorted([cifar.CIFAR10_ARCHIVE, *fake_mnist])
    assert (data_directory / "cifar10" / cifar.CIFAR10_ARCHIVE).is_file()


def test_a_page_shows_a_note_for_each_stand_in_and_none_for_real_data(fake_cifar, capsys):
    from IPython.core.formatters import format_display_data

    standin = data.load("cifar10")
    real = data.load("cifar10", download=True)
    capsys.readouterr()
    data.show_data_note(real)
    assert capsys.readouterr().out == ""
    data.show_data_note(real, standin)
    printed = capsys.readouterr().out
    assert printed.startswith("This page ran on a stand-in:") and "shapes10" in printed
    assert 'data.load("cifar10", download=True)' in printed
    note = data.provenance.DataNote([standin])
    page = format_display_data(note)[0]["text/html"]
    assert 'class="admonition warning cnnbook-standin"' in page and "Instead of CIFAR-10" in page
    assert "&quot;cifar10&quot;" in page  # the text is escaped
