"""The credits page's 30-day chart, rendered on the server as SVG (no JavaScript, no chart
library): ``spend_chart`` computes the geometry of stacked bars, one per day, that the template
``django_imageops/admin/spend_chart.html`` draws. The SVG scales to its container (``viewBox``),
so it fits a 390 px phone as well as a desktop."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.formats import date_format
from django.utils.translation import gettext

from ..amounts import format_credits
from ..jobs.usage import Spend

#: Drawing units (the SVG scales): bar width, gap between bars, plot height, label band.
BAR, GAP, PLOT, LABELS = 10, 4, 100, 16

#: The stacked kinds, bottom to top, with their CSS class.
KINDS = (
    ("reported", "imageops-spend-reported"),
    ("estimated", "imageops-spend-estimated"),
    ("unrecorded", "imageops-spend-unrecorded"),
)


def spend_chart(days: Sequence[tuple[date, Spend]]) -> dict[str, Any]:
    """The geometry of one vendor's chart.

    Args:
        days: ``(day, Spend)`` pairs, oldest first.

    Returns:
        ``{"width", "height", "plot_height", "peak" (credits, str), "first", "last" (date
        labels), "bars": [{"x", "title", "segments": [{"y", "height", "css"}]}],
        "label" (a text alternative)}`` in drawing units.
    """
    peak = max((spend.total for _, spend in days), default=Decimal(0))
    scale = Decimal(PLOT) / peak if peak else Decimal(0)
    bars = []
    for index, (day, spend) in enumerate(days):
        top = Decimal(PLOT)
        segments = []
        for kind, css in KINDS:
            value = getattr(spend, kind)
            if value <= 0:
                continue
            height = max(value * scale, Decimal(1))
            top -= height
            segments.append({"y": _unit(top), "height": _unit(height), "css": css})
        bars.append(
            {
                "x": index * (BAR + GAP),
                "title": gettext(
                    "%(day)s: %(total)s credits (%(reported)s reported, %(estimated)s "
                    "estimated, %(unrecorded)s unrecorded)"
                )
                % {
                    "day": date_format(day, "SHORT_DATE_FORMAT"),
                    "total": format_credits(spend.total),
                    "reported": format_credits(spend.reported),
                    "estimated": format_credits(spend.estimated),
                    "unrecorded": format_credits(spend.unrecorded),
                },
                "segments": segments,
            }
        )
    total = sum((spend.total for _, spend in days), Decimal(0))
    return {
        "width": max(len(days) * (BAR + GAP) - GAP, 1),
        "height": PLOT + LABELS,
        "plot_height": PLOT,
        "bar_width": BAR,
        "peak": format_credits(peak),
        "first": date_format(days[0][0], "SHORT_DATE_FORMAT") if days else "",
        "last": date_format(days[-1][0], "SHORT_DATE_FORMAT") if days else "",
        "label": gettext("%(total)s credits in %(days)s days, at most %(peak)s in a day")
        % {"total": format_credits(total), "days": len(days), "peak": format_credits(peak)},
        "bars": bars,
    }


def _unit(value: Decimal) -> str:
    return f"{float(value):.2f}"
