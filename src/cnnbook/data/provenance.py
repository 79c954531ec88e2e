"""Which data a page ran on: the note a page shows when it ran on a stand-in, and the check
``make publish`` runs before it builds the site on the real sets."""

from __future__ import annotations

import html

from .registry import DATASETS, REAL_DATASETS, STANDINS_FORCED, how_to_get
from .remote import DatasetUnavailable
from .splits import LoadedSplit

# The class of the note in a built page: tools/publish.py looks for it in a site that should
# have run on the real sets.
STANDIN_NOTE_CLASS = "cnnbook-standin"


class DataNote:
    """An admonition saying which stand-ins a page ran on: HTML in a notebook or a book page,
    plain text elsewhere."""

    def __init__(self, standins: list[LoadedSplit]):
        self.title = "This page ran on " + ("stand-ins" if len(standins) > 1 else "a stand-in")
        self.paragraphs = [_sentence(loaded) for loaded in standins]

    def _repr_html_(self) -> str:
        body = "".join(f"<p>{html.escape(paragraph)}</p>" for paragraph in self.paragraphs)
        return (f'<div class="admonition warning {STANDIN_NOTE_CLASS}">'
                f'<p class="admonition-title">{html.escape(self.title)}</p>{body}</div>')

    def __repr__(self) -> str:
        return "\n".join([f"{self.title}:", *self.paragraphs])


def _sentence(loaded: LoadedSplit) -> str:
    real, standin = DATASETS[loaded.requested], DATASETS[loaded.name]
    reason = ("this build asked for the stand-ins" if loaded.reason == STANDINS_FORCED
              else loaded.reason or "it was unavailable")
    return (f"Instead of {real.title}, the code on this page used {standin.title}, its stand-in, because "
            f"{reason}. The numbers, figures and sentences that come from this data are those of the "
            f"stand-in; on {real.title} they differ. To run the page on {real.title}: {how_to_get(loaded.requested)}.")


def show_data_note(*loaded: LoadedSplit) -> None:
    """Show, where a page's code runs, which of the sets that :func:`~cnnbook.data.load` returned
    are stand-ins for a real set (an admonition in a notebook or a book page, text elsewhere).

    Every page that loads data calls it, so that a page built on a stand-in says so visibly.
    Shows nothing when every set is the one that was asked for.
    """
    standins = [split for split in loaded if split.is_standin]
    if not standins:
        return
    note = DataNote(standins)
    try:
        from IPython.display import display  # outside IPython it prints the text
    except ImportError:
        print(repr(note))
    else:
        display(note)


def missing_real_data(names=REAL_DATASETS, download: bool | None = True) -> dict[str, str]:
    """The real sets among ``names`` that are not on this machine, each with what to do about it.

    Sets that can be downloaded are, when ``download`` asks for it (checked by SHA-256, into
    :func:`~cnnbook.data.data_dir`); the others must be staged. Returns ``{name: message}`` for
    each set still missing (empty when all are here). A wrong file raises
    :class:`~cnnbook.data.ChecksumMismatch`.
    """
    missing = {}
    for name in names:
        try:
            DATASETS[name].files(download)
        except DatasetUnavailable as error:
            missing[name] = str(error)
    return missing
