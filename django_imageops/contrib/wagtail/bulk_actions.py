"""Bulk actions on Wagtail's image listing: Remove background, Uncrop, Reimagine, Crop.

Subclasses of Wagtail's ``ImageBulkAction``, as Wagtail's own ``AddTagsBulkAction``: tick
images, choose the action, fill in the operation's form (the same form as the Django admin's
actions, with its previews and cost line, plus *where the result goes*), confirm. One job per
image is queued in one batch (``destinations.queue_jobs``: ``jobs.create_jobs``, no vendor call
in the request); each result goes into the image library as soon as its job succeeds.

Permissions: the images the user may not change (Wagtail's image policy) are listed apart and
left out, as Wagtail's actions do. Wagtail lists every registered bulk action to every user; using
one needs ``django_imageops.add_imagejob`` (``permissions.can_run_operations``: others are
refused, as Wagtail refuses any admin view, with a redirect and a message).
"""

from __future__ import annotations

import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.functional import classproperty
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from wagtail.images.views.bulk_actions.image_bulk_action import ImageBulkAction

from ...cost_preview import estimate_response, initial_estimate
from ...inplace import field_label
from ...models import ImageJob
from ...sources import source_images
from . import destinations
from .forms import form_for_operation
from .permissions import can_change_image, can_run_operations
from .views import job_list_url

#: Images previewed on the confirmation page at most (the rest are counted).
PREVIEW_LIMIT = 24

OPERATION_LABELS = dict(ImageJob.Operation.choices)

ARIA_LABELS = {
    "remove_background": _("Remove the background of the selected images"),
    "uncrop": _("Uncrop the selected images"),
    "reimagine": _("Reimagine the selected images"),
    "crop": _("Crop the selected images"),
}


class ImageOperationBulkAction(ImageBulkAction):
    """Base of the operation bulk actions; a subclass sets ``operation``."""

    operation = ""
    template_name = "django_imageops/wagtail/bulk_action.html"
    action_priority = 60

    @classproperty
    def display_name(cls):
        """Wagtail's bulk action API: the operation's label, e.g. "Remove background"."""
        return OPERATION_LABELS.get(cls.operation, cls.operation)

    @classproperty
    def action_type(cls):
        """Wagtail's bulk action API: the action's URL name, ``imageops_<operation>``."""
        return f"imageops_{cls.operation}"

    @classproperty
    def aria_label(cls):
        """Wagtail's bulk action API: the button's accessible label."""
        return ARIA_LABELS.get(cls.operation, cls.display_name)

    def get_form_class(self):
        """The operation's Wagtail form (``forms.form_for_operation``: with ``destination``)."""
        return form_for_operation(self.operation)

    def dispatch(self, request, *args, **kwargs):
        """Users who may not queue jobs at all get 403."""
        if not can_run_operations(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def check_perm(self, image):
        """The change permission on the image (Wagtail's image policy)."""
        return can_change_image(self.request.user, image)

    def actionable(self) -> list:
        """The selected images the user may change (one query, kept)."""
        if not hasattr(self, "_actionable"):
            self._actionable, _rest = self.get_actionable_objects()
        return self._actionable

    def get_form_kwargs(self):
        """The operation form's arguments: the image's ``file``, the selected images as its
        sources (previews, and the values checked against their sizes), the page's own URL for
        the cost line."""
        kwargs = super().get_form_kwargs()
        kwargs.pop("prefix", None)
        images = self.actionable()
        model = self.model
        kwargs.update(
            image_fields=[("file", field_label(model, "file"))],
            sources=source_images(images[:PREVIEW_LIMIT], "file", read_headers=False),
            estimate_url=self.request.get_full_path(),
            preview_limit=PREVIEW_LIMIT,
        )
        return kwargs

    def get_form(self, form_class=None):
        """The form with the number of actionable images; on POST every one of them as its
        sources (checked against their sizes), on GET the cost line's first estimate."""
        form = super().get_form(form_class)
        images = self.actionable()
        form.source_count = len(images)
        if self.request.method == "POST":
            # Every selected image's size is known (Wagtail stores it): check them all.
            form.sources = source_images(images, "file", read_headers=False)
        elif images:
            form.estimate = initial_estimate(form, self.operation, images, self.request.user)
        return form

    def post(self, request, *args, **kwargs):
        """The cost line's refresh (``imageops_estimate``: JSON), else Wagtail's submission."""
        if request.POST.get("imageops_estimate"):
            return estimate_response(request, self.get_form(), self.operation, self.actionable())
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        """Wagtail's context plus the ``operation_label`` and the form's ``media``."""
        context = super().get_context_data(**kwargs)
        context["operation_label"] = self.display_name
        context["media"] = context["form"].media
        return context

    def get_execution_context(self):
        """What ``execute_action`` needs: the operation, the form's values, the user, a new
        batch."""
        form = self.cleaned_form
        self.batch = uuid.uuid4()
        kwargs = form.job_kwargs()
        return {
            "operation": self.operation,
            "destination": form.cleaned_data["destination"],
            "provider": kwargs["provider"],
            "params": kwargs["params"],
            "user": self.request.user,
            "batch": self.batch,
        }

    @classmethod
    def execute_action(cls, images, operation=None, user=None, **kwargs):
        """Queue one job per image (``destinations.queue_jobs``); returns ``(jobs, 0)``."""
        created = destinations.queue_jobs(
            operation,
            images,
            apply_on_success=True,
            created_by=user,
            **kwargs,
        )
        return len(created), 0

    def form_valid(self, form):
        """Wagtail's submission; a ``ValidationError`` from ``create_jobs`` (nothing was
        created) shows the form again with the errors."""
        try:
            return super().form_valid(form)
        except ValidationError as error:
            form.add_validation_error(error)
            return self.form_invalid(form)

    def get_success_message(self, num_parent_objects, num_child_objects):
        """ "3 Remove background jobs queued.", with a link to them in the job list."""
        text = ngettext(
            "%(count)d %(operation)s job queued; each result goes into the image library when "
            "it is ready.",
            "%(count)d %(operation)s jobs queued; each result goes into the image library when "
            "it is ready.",
            num_parent_objects,
        ) % {"count": num_parent_objects, "operation": self.display_name}
        url = job_list_url(self.request.user, batch=self.batch)
        if not url:
            return text
        return format_html('{} <a href="{}">{}</a>', text, url, gettext("Follow the jobs"))


class RemoveBackgroundBulkAction(ImageOperationBulkAction):
    """Remove the background of the selected images."""

    operation = "remove_background"


class UncropBulkAction(ImageOperationBulkAction):
    """Uncrop the selected images."""

    operation = "uncrop"


class ReimagineBulkAction(ImageOperationBulkAction):
    """Reimagine the selected images."""

    operation = "reimagine"


class CropBulkAction(ImageOperationBulkAction):
    """Crop the selected images."""

    operation = "crop"


#: The bulk actions ``wagtail_hooks`` registers.
BULK_ACTIONS = (RemoveBackgroundBulkAction, UncropBulkAction, ReimagineBulkAction, CropBulkAction)
