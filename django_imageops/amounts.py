"""Amounts of credits: reading them from settings (``parse_credits``) and showing them
(``format_credits``). No Django model, no vendor: every layer may use it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def parse_credits(value: Any, name: str = "value") -> Decimal:
    """A number of credits from a setting (int, float, str or Decimal), as a ``Decimal``.

    Raises:
        ValueError: not a number (booleans included), not finite, or negative; the message
            names the setting ``name``.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{name} must be a number of credits, not {value!r}")
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        raise ValueError(f"{name} must be a number of credits, not {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{name} must be a number of credits >= 0, not {value!r}")
    return amount


def format_credits(value: Decimal | int | None) -> str:
    """Credits in plain digits: ``Decimal("4.000")`` -> ``"4"``, ``Decimal("0.250")`` ->
    ``"0.25"``; ``None`` -> ``""``."""
    if value is None:
        return ""
    value = Decimal(value)
    if value == value.to_integral():
        return str(value.quantize(Decimal(1)))
    return f"{value.normalize():f}"
