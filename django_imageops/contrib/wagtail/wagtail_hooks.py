"""Wagtail hooks of ``django_imageops.contrib.wagtail`` (Wagtail imports this module itself):

- ``register_admin_urls``: the edit page's panel and the editor page (``views``) under
  ``/admin/imageops/``;
- ``register_admin_viewset``: the job list (``viewsets.ImageJobViewSet``);
- ``register_bulk_action``: Remove background, Uncrop, Reimagine, Crop on the image listing
  (``bulk_actions``);
- ``register_log_actions``: ``django_imageops.replace``, an image's file replaced by a job's
  result (``destinations.replace_file``).
"""

from __future__ import annotations

from django.urls import include, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail import hooks
from wagtail.log_actions import LogFormatter

from . import views
from .bulk_actions import BULK_ACTIONS
from .destinations import REPLACE_ACTION
from .viewsets import ImageJobViewSet

urlpatterns = [
    path(
        "images/<str:image_id>/jobs/<uuid:job_uuid>/apply/",
        views.image_job_apply,
        name="image_job_apply",
    ),
    path("images/<str:image_id>/jobs/<uuid:job_uuid>/", views.image_job, name="image_job"),
    path("images/<str:image_id>/<str:operation>/", views.image_operation, name="image_operation"),
    path("editor/<uuid:job_uuid>/callback/", views.editor_callback, name="editor_callback"),
    path("editor/<uuid:job_uuid>/status/", views.editor_status, name="editor_status"),
    path("editor/<uuid:job_uuid>/", views.editor, name="editor"),
]


@hooks.register("register_admin_urls")
def register_admin_urls():
    """The panel's and the editor's views, namespace ``imageops_wagtail``."""
    return [path("imageops/", include((urlpatterns, "imageops_wagtail")))]


@hooks.register("register_admin_viewset")
def register_job_viewset():
    """The job list, *Image jobs* in the menu."""
    return ImageJobViewSet()


for action_class in BULK_ACTIONS:
    hooks.register("register_bulk_action", action_class)


@hooks.register("register_log_actions")
def register_log_actions(actions):
    """``django_imageops.replace``: "File replaced by the result of a Remove background job"."""

    @actions.register_action(REPLACE_ACTION)
    class ReplaceFormatter(LogFormatter):
        """Wagtail's log formatter of ``django_imageops.replace`` entries."""

        label = gettext_lazy("Replace file with an image operation's result")

        def format_message(self, log_entry):
            """Wagtail's hook: the entry's line in the history, naming the operation and the
            previous file."""
            from ...models import ImageJob

            operation = dict(ImageJob.Operation.choices).get(
                log_entry.data.get("operation"), log_entry.data.get("operation", "")
            )
            previous = (log_entry.data.get("previous") or {}).get("file", "")
            return _(
                "File replaced by the result of a %(operation)s job (the previous file, "
                "%(previous)s, is kept)"
            ) % {"operation": operation, "previous": previous}
