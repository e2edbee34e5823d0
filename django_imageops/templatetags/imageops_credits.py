"""Template filters for amounts of credits: ``{% load imageops_credits %}``, then
``{{ value|credits }}`` ("92.5", "4", "-" for None)."""

from __future__ import annotations

from django import template

from ..amounts import format_credits

register = template.Library()


@register.filter
def credits(value):
    """An amount of credits in plain digits (``amounts.format_credits``); "-" for None."""
    if value is None or value == "":
        return "-"
    return format_credits(value)
