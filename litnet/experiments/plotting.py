"""One look for every figure the chapters and labs draw from the experiments.

:func:`figure` returns a :class:`matplotlib.figure.Figure` made without pyplot, so
it can be drawn in any thread (the site build draws while a thread computes the
claims) and needs no backend; a notebook displays it as the value of a cell. The
style is a white card with dark text, readable in the site's light and dark
schemes, and the colours are the Okabe–Ito palette, which stays distinguishable for
colour-blind readers. Matplotlib is imported here, on first use, never by
``import litnet``.

A plot function is decorated with :func:`styled` (matplotlib reads most style
settings when a line or a label is made, not when the figure is) and starts with
:func:`figure`::

    @styled
    def plot_losses(curves):
        fig, ax = figure()
        for name, losses in curves.items():
            ax.plot(losses, label=name)
        ax.set(xlabel="epoch", ylabel="training loss")
        ax.legend()
        return fig
"""

from __future__ import annotations

import functools

#: Okabe & Ito's colour-blind-safe palette (black first, then the eight hues).
PALETTE = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2",
           "#D55E00", "#CC79A7")

_STYLE = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.edgecolor": "#333333",
    "axes.labelcolor": "#222222",
    "text.color": "#222222",
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "axes.titlesize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "svg.fonttype": "none",      # text stays text in the SVG: small, searchable, crisp
}


def _style():
    from cycler import cycler

    return dict(_STYLE, **{"axes.prop_cycle": cycler(color=PALETTE[1:] + PALETTE[:1])})


def styled(plot):
    """Run a plot function with litnet's style (matplotlib's global settings untouched).

    Examples
    --------
    >>> @styled
    ... def demo():
    ...     fig, ax = figure()
    ...     return fig, ax.set_xlabel("x").get_color()
    >>> demo()[1]
    '#222222'
    """
    @functools.wraps(plot)
    def wrapper(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(_style()):
            return plot(*args, **kwargs)
    return wrapper


def figure(nrows=1, ncols=1, *, width=6.4, height=3.6, **subplots):
    """A styled Figure and its axes (``fig, ax`` or ``fig, axes`` as for ``subplots``).

    The default size is 6.4 × 3.6 inches: full column width on a laptop and still
    legible when a phone scales it down to 360 px.

    Examples
    --------
    >>> fig, ax = figure()
    >>> _ = ax.plot([0, 1], [1, 0])
    >>> type(fig).__name__, fig.get_size_inches().tolist()
    ('Figure', [6.4, 3.6])
    """
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_style()):
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = fig.subplots(nrows, ncols, **subplots)
    return fig, axes


def to_svg(fig) -> bytes:
    """The figure as SVG bytes (what the site embeds).

    Examples
    --------
    >>> fig, ax = figure()
    >>> to_svg(fig)[:5]
    b'<?xml'
    """
    import io

    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context(_style()):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()
