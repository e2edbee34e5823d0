"""A Wagtail image's focal point, carried over to a job's result.

Wagtail stores the focal point as its centre and size (``focal_point_x``/``_y``/``_width``/
``_height``, pixels of the image). A result shows part of the source, more of it, or all of it,
possibly at another scale: ``covered_region`` says which rectangle of the source (in the
source's pixels) the result shows, and ``moved_focal_point`` maps the focal point through it:

- ``uncrop``: the canvas grows by ``left``/``right``/``top``/``bottom`` (a negative offset crops),
  so the focal point moves right by ``left`` and down by ``top``;
- ``crop``: the box ``x``, ``y``, ``width``, ``height``; the focal point moves by ``-x``, ``-y``
  and is cut to the box;
- ``remove_background``, ``reimagine``: the whole image (only the scale may change).

A focal point that falls outside the result is reset (``None``): Wagtail then crops around the
centre, as for an image without one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    """A rectangle in pixels: ``left``, ``top`` (inclusive), ``right``, ``bottom`` (exclusive)."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        """``right - left``, pixels."""
        return self.right - self.left

    @property
    def height(self) -> float:
        """``bottom - top``, pixels."""
        return self.bottom - self.top


@dataclass(frozen=True)
class FocalPoint:
    """Wagtail's focal point: the centre ``x``, ``y`` and the ``width``, ``height`` (pixels)."""

    x: int
    y: int
    width: int
    height: int

    @classmethod
    def of(cls, image) -> FocalPoint | None:
        """The focal point of a Wagtail image, or ``None`` when it has none."""
        values = (
            image.focal_point_x,
            image.focal_point_y,
            image.focal_point_width,
            image.focal_point_height,
        )
        if any(value is None for value in values):
            return None
        return cls(*(int(value) for value in values))

    def region(self) -> Region:
        """The focal area as a ``Region``."""
        return Region(
            self.x - self.width / 2,
            self.y - self.height / 2,
            self.x + self.width / 2,
            self.y + self.height / 2,
        )

    def as_dict(self) -> dict[str, int]:
        """The four model fields' values, by field name."""
        return {
            "focal_point_x": self.x,
            "focal_point_y": self.y,
            "focal_point_width": self.width,
            "focal_point_height": self.height,
        }


#: The model fields of a focal point, set to ``None`` when it is reset.
FIELDS = ("focal_point_x", "focal_point_y", "focal_point_width", "focal_point_height")


def covered_region(operation: str, params: dict, width: int, height: int) -> Region:
    """The rectangle of a ``width`` x ``height`` source (pixels) that the result of
    ``operation`` with ``params`` shows (see the module docstring); it may reach outside the
    source (uncrop)."""
    if operation == "uncrop":
        return Region(
            -int(params.get("left") or 0),
            -int(params.get("top") or 0),
            width + int(params.get("right") or 0),
            height + int(params.get("bottom") or 0),
        )
    if operation == "crop":
        x, y = int(params.get("x") or 0), int(params.get("y") or 0)
        return Region(x, y, x + int(params["width"]), y + int(params["height"]))
    return Region(0, 0, width, height)


def moved_focal_point(
    focal: FocalPoint | None, covered: Region, result_width: int, result_height: int
) -> FocalPoint | None:
    """``focal`` (in the source's pixels) in the result's pixels: shifted and scaled as
    ``covered`` (the source region the result shows) maps onto ``result_width`` x
    ``result_height``, and cut to the result. ``None`` for no focal point, or one left
    entirely outside the result."""
    if focal is None or covered.width <= 0 or covered.height <= 0:
        return None
    scale_x = result_width / covered.width
    scale_y = result_height / covered.height
    area = focal.region()
    left = max(0.0, (area.left - covered.left) * scale_x)
    top = max(0.0, (area.top - covered.top) * scale_y)
    right = min(float(result_width), (area.right - covered.left) * scale_x)
    bottom = min(float(result_height), (area.bottom - covered.top) * scale_y)
    if right - left < 1 or bottom - top < 1:
        return None
    return FocalPoint(
        round((left + right) / 2),
        round((top + bottom) / 2),
        max(1, round(right - left)),
        max(1, round(bottom - top)),
    )
