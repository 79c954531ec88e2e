"""The shared figure helpers draw what they are given, the way the book's pages rely on."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from cnnbook.plot import (  # noqa: E402
    annotated_matrix, draw_boxes, glue_figure, heat_overlay, image_grid, plot_curves, show_image)


@pytest.mark.parametrize("shape, shown_shape", [
    ((5, 7), (5, 7)), ((1, 5, 7), (5, 7)), ((1, 1, 5, 7), (5, 7)),
    ((3, 5, 7), (5, 7, 3)), ((1, 3, 5, 7), (5, 7, 3)), ((5, 7, 3), (5, 7, 3)),
])
def test_show_image_accepts_the_layouts_pages_use(shape, shown_shape):
    fig, ax = plt.subplots()
    drawn = show_image(ax, torch.rand(shape), title="x")
    assert drawn.get_array().shape == shown_shape
    assert ax.get_title() == "x" and not ax.get_xticks().size and not ax.get_yticks().size
    assert not ax.get_frame_on()
    plt.close(fig)


def test_show_image_clips_color_and_centers_signed_maps():
    fig, (ax_color, ax_signed) = plt.subplots(1, 2)
    color = show_image(ax_color, np.full((3, 4, 4), 2.0))
    assert np.asarray(color.get_array()).max() == 1.0
    signed = show_image(ax_signed, np.array([[-0.5, 2.0], [0.0, 1.0]]), signed=True, frame=True,
                        title="w", title_size=7)
    assert ax_signed.get_frame_on() and ax_signed.title.get_fontsize() == 7
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


def test_plot_curves_passes_line_options_to_every_curve():
    fig, ax = plt.subplots()
    plot_curves(ax, {"a": [1, 2], "b": [2, 1]}, styles={"a": "o-"}, markersize=3, linewidth=0.5, legend_size=6)
    assert {line.get_markersize() for line in ax.get_lines()} == {3}
    assert {line.get_linewidth() for line in ax.get_lines()} == {0.5}
    assert ax.get_legend().get_texts()[0].get_fontsize() == 6
    plt.close(fig)


def test_annotated_matrix_writes_each_value_readably():
    fig, ax = plt.subplots()
    annotated_matrix(ax, np.array([[0.0, 1.0], [2.0, 9.0]]), fmt="{:.0f}", cmap="gray_r", skip_zeros=True)
    texts = {text.get_text(): text for text in ax.texts}
    assert set(texts) == {"1", "2", "9"}
    assert texts["1"].get_color() == "black" and texts["9"].get_color() == "white"  # light cell, dark cell
    assert texts["9"].get_position() == (1, 1)
    plt.close(fig)


def test_draw_boxes_outlines_each_box_with_its_label_inside():
    fig, ax = plt.subplots()
    ax.imshow(np.zeros((50, 80)))
    draw_boxes(ax, [[10, 0, 30, 20], [40, 5, 70, 45]], labels=["a", "b"], color="red")
    rectangles = [patch for patch in ax.patches]
    assert [(r.get_x(), r.get_y(), r.get_width(), r.get_height()) for r in rectangles] == [(10, 0, 20, 20), (40, 5, 30, 40)]
    assert [t.get_text() for t in ax.texts] == ["a", "b"]
    assert all(t.get_position()[1] > box[1] for t, box in zip(ax.texts, [[10, 0], [40, 5]]))
    plt.close(fig)


def test_heat_overlay_stretches_the_heat_map_over_the_image():
    fig, ax = plt.subplots()
    heat_overlay(ax, torch.rand(1, 3, 32, 48), torch.rand(1, 1, 4, 6) * 5, title="cam")
    photo, heat = ax.images
    assert photo.get_array().shape == (32, 48, 3) and heat.get_extent() == [-0.5, 47.5, 31.5, -0.5]
    assert float(np.asarray(heat.get_array()).max()) == pytest.approx(1.0)
    plt.close(fig)


def test_show_image_titles_keep_the_axes_title_size_unless_told():
    fig, (ax_default, ax_image) = plt.subplots(1, 2)
    ax_default.set_title("reference")
    show_image(ax_image, np.zeros((4, 4)), title="image")
    assert ax_image.title.get_fontsize() == ax_default.title.get_fontsize()
    plt.close(fig)


@pytest.mark.parametrize("batch_shape, panel_shape", [((5, 1, 6, 7), (6, 7)), ((5, 3, 6, 7), (6, 7, 3)),
                                                      ((5, 6, 7, 3), (6, 7, 3)), ((5, 6, 7), (6, 7))])
def test_image_grid_draws_each_image_in_its_panel(batch_shape, panel_shape):
    fig = image_grid(torch.rand(batch_shape), titles=list("abcde"), ncols=3)
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 6 and len(drawn) == 5 and not fig.axes[5].axison
    assert all(ax.images[0].get_array().shape == panel_shape for ax in drawn)
    assert [ax.get_title() for ax in drawn] == list("abcde") and drawn[0].title.get_fontsize() == 8
    plt.close(fig)
