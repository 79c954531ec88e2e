"""The shared figure helpers draw what they are given, the way the book's pages rely on."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from cnnbook.plot import glue_figure, plot_curves, show_image  # noqa: E402


@pytest.mark.parametrize("shape, shown_shape", [
    ((5, 7), (5, 7)), ((1, 5, 7), (5, 7)), ((1, 1, 5, 7), (5, 7)),
    ((3, 5, 7), (5, 7, 3)), ((1, 3, 5, 7), (5, 7, 3)), ((5, 7, 3), (5, 7, 3)),
])
def test_show_image_accepts_the_layouts_pages_use(shape, shown_shape):
    fig, ax = plt.subplots()
    drawn = show_image(ax, torch.rand(shape), title="x")
    assert drawn.get_array().shape == shown_shape
    assert ax.get_title() == "x" and not ax.get_xticks().size and not ax.get_yticks().size
    plt.close(fig)


def test_show_image_clips_color_and_centers_signed_maps():
    fig, (ax_color, ax_signed) = plt.subplots(1, 2)
    color = show_image(ax_color, np.full((3, 4, 4), 2.0))
    assert np.asarray(color.get_array()).max() == 1.0
    signed = show_image(ax_signed, np.array([[-0.5, 2.0], [0.0, 1.0]]), signed=True)
    assert signed.get_clim() == (-2.0, 2.0) and signed.get_cmap().name == "RdBu_r"
    plt.close(fig)


def test_plot_curves_draws_each_series_against_its_x():
    fig, ax = plt.subplots()
    plot_curves(ax, {"a": [3, 2, 1], "b": (np.array([10, 100]), np.array([1.0, 0.1]))},
                xlabel="step", logy=True, styles={"b": "o--"})
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_array_equal(lines["a"].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(lines["b"].get_xdata(), [10, 100])
    assert lines["b"].get_linestyle() == "--" and lines["b"].get_marker() == "o"
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "step"
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["a", "b"]
    plt.close(fig)


def test_glue_figure_hands_the_figure_to_the_page_and_closes_it(monkeypatch):
    import myst_nb

    glued = []
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: glued.append((name, value, display)))
    fig, _ = plt.subplots()
    glue_figure("fig_test", fig)
    assert glued == [("fig_test", fig, False)]
    assert not plt.fignum_exists(fig.number)
