"""Server-rendered SVG charts, one way for every chart the product draws (calibration's and the
reports'): matplotlib on its Agg backend (no display, no browser library, nothing the CSP must
relax for), text kept as <text> so it reads and searches, and the same figures always giving
the same bytes (a fixed hash salt, no date)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402 (after choosing the backend)

SIZE_INCHES = (7.5, 4.5)


def chart_rc(salt: str) -> dict:
    """matplotlib's settings for a chart; `salt` keeps each family's SVG ids stable."""
    return {
        "svg.hashsalt": salt,
        "svg.fonttype": "none",  # text stays <text>, readable and searchable
        "font.family": "DejaVu Sans",
        "font.size": 10,
    }


def new_figure(rc: dict, ncols: int = 1) -> tuple[Figure, list]:
    """A figure of `ncols` plots side by side, and its axes."""
    with matplotlib.rc_context(rc):
        figure = Figure(figsize=SIZE_INCHES, layout="constrained")
        axes = figure.subplots(1, ncols, squeeze=False)[0]
    return figure, list(axes)


def figure_svg(figure: Figure, rc: dict) -> bytes:
    out = io.BytesIO()
    with matplotlib.rc_context(rc):
        figure.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()
