"""PNG line charts of metric history (pure: bytes in memory, no files, no display)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime


def line_chart(
    title: str,
    times: Sequence[datetime],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    y_label: str,
    target: float | None = None,
) -> bytes:
    """A PNG of one or more series over time (None values leave gaps)."""
    # Imported here: matplotlib costs ~0.3 s to import and only chart commands need it.
    import matplotlib as mpl  # noqa: PLC0415

    mpl.use("Agg")
    import matplotlib.dates as mdates  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    figure = Figure(figsize=(8, 3.6), dpi=100)
    axes = figure.add_subplot()
    for label, values in series:
        axes.plot(
            list(times),  # type: ignore[arg-type]
            [float("nan") if v is None else v for v in values],
            label=label,
            linewidth=1.5,
        )
    if target is not None:
        axes.axhline(target, color="grey", linestyle="--", linewidth=1, label=f"target {target:g}")
    axes.set_title(title)
    axes.set_ylabel(y_label)
    axes.grid(visible=True, alpha=0.3)
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    axes.legend(loc="lower left", fontsize="small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
