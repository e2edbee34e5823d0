"""``ModelAdminMixin``: the base of this package's ``ModelAdmin`` mixins.

At run time it is ``object``: a mixin adds nothing else to the class it is mixed into. To mypy
it is Django's ``ModelAdmin``, so that a mixin's ``self.model``, ``self.admin_site``,
``self.message_user()`` and ``super().get_urls()`` are checked against what they will be.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin as ModelAdminMixin
else:
    ModelAdminMixin = object

__all__ = ["ModelAdminMixin"]
