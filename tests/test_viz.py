import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lmlib import viz  # noqa: E402


def test_theory_is_a_dashed_black_line_over_the_measurement():
    viz.use_style()
    fig, ax = plt.subplots()
    x = np.arange(5.0)
    viz.theory_vs_experiment(ax, x, x**2, x**2 + 0.1, label="run")
    measured, theory = ax.get_lines()
    assert measured.get_label() == "run" and measured.get_linestyle() == "-"
    assert theory.get_linestyle() == "--" and theory.get_color() == "black"
    assert theory.get_zorder() > measured.get_zorder()
    viz.theory_vs_experiment(ax, x, x, x, theory_label=None, marker_every=2)
    assert ax.get_lines()[-2].get_marker() == "o" and len(ax.get_lines()[-2].get_xdata()) == 3
    plt.close(fig)


def test_theory_vs_experiment_rejects_mismatched_shapes():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="one length"):
        viz.theory_vs_experiment(ax, np.arange(3), np.arange(4), np.arange(3))
    plt.close(fig)


def test_band_spans_min_to_max():
    fig, ax = plt.subplots()
    runs = np.array([[1.0, 2.0], [3.0, 8.0]])
    viz.band(ax, np.array([0.0, 1.0]), runs, label="seeds")
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [2.0, 5.0])
    viz.band(ax, np.array([0.0, 1.0]), runs, log=True)
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [np.sqrt(3.0), 4.0])
    with pytest.raises(ValueError, match="n_seeds"):
        viz.band(ax, np.arange(3.0), runs)
    plt.close(fig)


def test_scrubber_is_a_kernel_free_javascript_animation():
    fig, ax = plt.subplots()
    (line,) = ax.plot([0, 1], [0, 0])
    html = viz.scrubber(fig, lambda i: line.set_ydata([i, i]), 3)
    assert "<script" in html and 'class="animation"' in html
    assert html.count("data:image/png;base64") == 3  # one embedded frame each
    assert not plt.fignum_exists(fig.number)  # closed: not shown twice
    with pytest.raises(ValueError, match="n_frames"):
        viz.scrubber(plt.figure(), lambda i: None, 1)


def test_sequential_colors():
    assert len(viz.sequential_colors(4)) == 4


def test_scrubber_needs_no_network_font():
    """matplotlib's player loads Font Awesome from a CDN; ours labels its buttons in words."""
    import re

    import matplotlib.pyplot as plt

    from lmlib import viz

    fig, ax = plt.subplots()
    html = viz.scrubber(fig, lambda i: ax.plot([0, i]), 3)
    assert "font-awesome" not in html and "https://" not in html
    labels = [b.strip() for b in re.findall(r"<button[^>]*>([^<]*)</button>", html)]
    assert "play" in labels and "pause" in labels and all(labels)
    # one object: the player for HTML, a still frame for the PDF
    assert html._repr_html_() == str(html) and html._repr_png_().startswith(b"\x89PNG")
    assert repr(html) == "<scrubber: 3 frames>"
