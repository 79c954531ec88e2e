"""copydetect's fingerprints of students' answers, and both shares of every pair, in parallel.

copydetect (https://github.com/blingenf/copydetect) tokenizes, fingerprints and winnows; this
module turns its fingerprints into arrays, leaves out the idioms, and scores the pairs block by
block in worker processes, as copydetect's own ``compare_files`` would score them
(tests/test_similarity.py checks that they agree) but without its per-fingerprint Python loops,
which at 45,000 pairs cost minutes.
"""

from __future__ import annotations

import io
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
from copydetect import CodeFingerprint
from copydetect.utils import get_copied_slices
from tqdm.auto import tqdm

# copydetect's defaults (its noise and guarantee thresholds): fingerprints of 25 characters of
# the token stream (about two statements); a window of 1 keeps every one, which is cheap at the
# size of a notebook's answers and finds every shared stretch of that length.
KGRAM = 25
WINDOW = 1
COMMON_MINIMUM = 5  # a fingerprint is never an idiom when this many students or fewer share it
BLOCK = 64          # students per side of a block of pairs scored in one task


def fingerprint(answers: str) -> CodeFingerprint:
    """copydetect's fingerprint of a student's answers, read as Python (see :func:`_pool` on
    which fingerprints can be compared)."""
    return CodeFingerprint("answers.py", KGRAM, WINDOW, fp=io.StringIO(answers), language="python")


class Fingerprints(NamedTuple):
    """A copydetect fingerprint as the arrays the comparison needs (they cross processes fast)."""

    positions: np.ndarray  # of each fingerprint in the token stream
    hashes: np.ndarray     # of each fingerprint
    distinct: np.ndarray   # the distinct hashes, sorted
    offsets: np.ndarray    # copydetect's map from the token stream back to the text
    coverage: float        # tokens the fingerprints cover: what a share is a share of

    @classmethod
    def of(cls, answers: str) -> "Fingerprints":
        one = fingerprint(answers)
        lengths = [len(positions) for positions in one.hash_idx.values()]
        distinct = np.fromiter(one.hash_idx, dtype=np.int64, count=len(one.hash_idx))
        positions = np.fromiter((p for ps in one.hash_idx.values() for p in ps), dtype=np.int64, count=sum(lengths))
        return cls(positions, np.repeat(distinct, lengths), np.sort(distinct), one.offsets, float(one.token_coverage))

    def without(self, idioms: np.ndarray) -> "Fingerprints":
        """The same, less the fingerprints whose hash is in the sorted ``idioms``: a share is
        then a share of what the student wrote that the class does not write alike (counted in
        the whole answers, a copy of a notebook most of which is idioms would score low)."""
        kept = ~_found_in(self.hashes, idioms)
        return self._replace(positions=self.positions[kept], hashes=self.hashes[kept],
                             distinct=self.distinct[~_found_in(self.distinct, idioms)],
                             coverage=float(_covered(self.positions[kept])))


def pair_shares(texts: list[str], common: float, jobs: int = 1, progress: bool = True):
    """Every text's fingerprints (idioms left out: those more than ``common`` of the texts share)
    and, for every pair i < j, ``(i, j, characters matched in i, share of i in j, share of j in i)``."""
    pairs = len(texts) * (len(texts) - 1) // 2
    with _pool(jobs if len(texts) > BLOCK else 1) as pool:  # starting workers costs seconds
        prints = list(tqdm(_map(pool, Fingerprints.of, texts, 8), total=len(texts), desc="fingerprinting answers",
                           unit="student", disable=not progress))
        prints = _without_idioms(prints, common)
        tasks = [(rows, columns, [prints[i] for i in rows], [prints[j] for j in columns])
                 for rows, columns in _blocks(len(prints), BLOCK)]
        bar = tqdm(total=pairs, desc="comparing answers", unit="pair", disable=not progress)
        shares = []
        for block in _map(pool, _score_block, tasks):
            shares += block
            bar.update(len(block))
        bar.close()
    return prints, shares


def _without_idioms(prints: list[Fingerprints], common: float) -> list[Fingerprints]:
    """Leave out of the matching the fingerprints more than ``common`` of the class share."""
    if not prints:
        return prints
    values, counts = np.unique(np.concatenate([one.distinct for one in prints]), return_counts=True)
    idioms = values[counts > max(COMMON_MINIMUM, common * len(prints))]
    return [one.without(idioms) for one in prints] if idioms.size else prints


def _score_block(task) -> list[tuple[int, int, int, float, float]]:
    """(i, j, characters matched in i, both shares) for every pair of a block of the pair
    matrix, as copydetect's compare_files computes them (tests/test_similarity.py checks they
    agree): the positions of the fingerprints the other has, merged into stretches by copydetect."""
    rows, columns, row_prints, column_prints = task
    found = []
    for i, a in zip(rows, row_prints):
        for j, b in zip(columns, column_prints):
            if j <= i:
                continue
            shared_a = _found_in(a.hashes, b.distinct)
            if not shared_a.any():
                found.append((i, j, 0, 0.0, 0.0))
                continue
            matched = _covered(a.positions[shared_a])
            found.append((i, j, matched, matched / a.coverage,
                          _covered(b.positions[_found_in(b.hashes, a.distinct)]) / b.coverage))
    return found


def _found_in(hashes: np.ndarray, distinct: np.ndarray) -> np.ndarray:
    """Which of ``hashes`` are in the sorted ``distinct`` (np.isin, without its sorting every time)."""
    if distinct.size == 0:
        return np.zeros(hashes.shape, dtype=bool)
    where = np.minimum(np.searchsorted(distinct, hashes), distinct.size - 1)
    return distinct[where] == hashes


def _covered(positions: np.ndarray) -> int:
    slices = get_copied_slices(positions, KGRAM)
    return int(np.sum(slices[1] - slices[0]))


def regions(a: Fingerprints, b: Fingerprints) -> list[tuple[int, int]]:
    """The stretches of a's text whose fingerprints b has, as (start, end): copydetect's slices,
    mapped back to the text as its compare_files maps them."""
    slices = get_copied_slices(a.positions[_found_in(a.hashes, b.distinct)], KGRAM)
    if len(a.offsets) and slices.size:
        slices = slices + a.offsets[:, 1][np.clip(np.searchsorted(a.offsets[:, 0], slices), 0, len(a.offsets) - 1)]
    return [(int(start), int(end)) for start, end in zip(*slices)]


def _blocks(count: int, size: int):
    """The upper triangle of the pair matrix as (rows, columns) blocks: a task carries only the
    fingerprints of its rows and columns."""
    blocks = [range(start, min(start + size, count)) for start in range(0, count, size)]
    for index, rows in enumerate(blocks):
        for columns in blocks[index:]:
            yield rows, columns


@contextmanager
def _pool(jobs: int):
    """``jobs`` spawned processes (None for one: work here) that hash strings alike.

    copydetect hashes with Python's ``hash``, seeded afresh in each interpreter: fingerprints
    are comparable only when made by processes started with the same ``PYTHONHASHSEED``, which
    is set for the workers as they start (and every fingerprint is made by one of them).
    """
    if jobs <= 1:
        yield None
        return
    saved = os.environ.get("PYTHONHASHSEED")
    os.environ["PYTHONHASHSEED"] = "0"
    try:  # workers start on demand: the variable stays set while the pool lives
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            yield pool
    finally:
        if saved is None:
            os.environ.pop("PYTHONHASHSEED", None)
        else:
            os.environ["PYTHONHASHSEED"] = saved


def _map(pool, function, items, chunksize=1):
    return map(function, items) if pool is None else pool.map(function, items, chunksize=chunksize)
