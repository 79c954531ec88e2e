"""Serve MathJax from the book itself, so its math renders without the internet.

Two roles in one file:

* command line, run by `make setup` where npm exists::

      python tools/local_mathjax.py fetch [DEST]

  fetches the pinned MathJax from the npm registry (`npm pack`), checks its sha256 and
  unpacks the few parts the book needs (about 4 MB) into DEST (default .venv/mathjax).

* Sphinx extension, named in _config.yml under `sphinx: local_extensions:`. It does
  nothing unless CNNBOOK_LOCAL_MATHJAX=1; then the pages load
  `_static/mathjax/tex-mml-chtml.js` instead of the CDN, and the files are copied into
  the built book's `_static/mathjax/`. The build fails with a clear message when
  CNNBOOK_LOCAL_MATHJAX=1 but nothing was fetched. CNNBOOK_MATHJAX_DIR overrides DEST.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "3.2.2"
SHA256 = "1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09"
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / ".venv" / "mathjax"
ENTRY = "tex-mml-chtml.js"  # what Sphinx loads from the CDN by default
# Loaded on demand by the entry script: TeX extensions (autoload), fonts, menu, a11y.
PARTS = (ENTRY, "input/", "output/chtml/", "ui/", "a11y/", "adaptors/")


def mathjax_dir() -> Path:
    return Path(os.environ.get("CNNBOOK_MATHJAX_DIR") or DEFAULT_DIR)


def enabled() -> bool:
    return os.environ.get("CNNBOOK_LOCAL_MATHJAX", "").lower() in {"1", "true", "yes"}


def fetch(dest: Path) -> Path:
    """Download mathjax@VERSION with npm, verify it and unpack the needed parts into dest."""
    if (dest / ENTRY).exists() and (dest / "VERSION").read_text().strip() == VERSION:
        return dest
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", "--silent", f"mathjax@{VERSION}"], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL)
        tarball = Path(tmp) / f"mathjax-{VERSION}.tgz"
        digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
        if digest != SHA256:
            raise SystemExit(f"mathjax-{VERSION}.tgz: sha256 {digest}, expected {SHA256}")
        staging = Path(tmp) / "es5"
        with tarfile.open(tarball) as tar:
            for member in tar.getmembers():
                name = member.name.removeprefix("package/es5/")
                if member.isfile() and name != member.name and name.startswith(PARTS):
                    target = staging / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(tar.extractfile(member).read())
        (staging / "VERSION").write_text(VERSION + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staging, dest)
    return dest


# ---- Sphinx extension -------------------------------------------------------------------

def _use_local(app, config):
    if not enabled():
        return
    source = mathjax_dir()
    if not (source / ENTRY).exists():
        from sphinx.errors import ConfigError
        raise ConfigError(f"CNNBOOK_LOCAL_MATHJAX=1 but {source / ENTRY} is missing: "
                          f"run `python tools/local_mathjax.py fetch` (needs npm) or unset it")
    config.mathjax_path = f"mathjax/{ENTRY}"  # relative paths are served from _static/


def _copy_files(app, exception):
    if exception is not None or not enabled() or app.builder.format != "html":
        return
    shutil.copytree(mathjax_dir(), Path(app.outdir) / "_static" / "mathjax", dirs_exist_ok=True)


def setup(app):
    app.connect("config-inited", _use_local)
    app.connect("build-finished", _copy_files)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] != "fetch":
        raise SystemExit("usage: python tools/local_mathjax.py fetch [DEST]")
    where = fetch(Path(sys.argv[2]) if len(sys.argv) > 2 else mathjax_dir())
    print(f"MathJax {VERSION} in {where}")
