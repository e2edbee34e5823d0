"""Who may do what with image operations in Wagtail's admin.

The rules are the Django admin's (``django_imageops.permissions``), with Wagtail's image
permission policy answering "may this user change this image?" (collection permissions and
ownership, as Wagtail's own image views ask it):

- running an operation on an image (a bulk action, the edit page's buttons): the *change*
  permission on the image (Wagtail's policy) and ``django_imageops.add_imagejob`` (operations
  spend credits: a site grants it to the groups that may spend them, in Wagtail's group editor);
- acting on a job (applying its result, retry, cancel, its editor): its creator, or a user who
  may change its source image (Wagtail's policy), or what ``permissions.can_act_on_job`` allows
  (staff with the change permission on the source's model);
- the job list: ``django_imageops.view_imagejob`` (or ``change_imagejob``), as in the Django
  admin.
"""

from __future__ import annotations

from ...models import ImageJob
from ...permissions import can_act_on_job as core_can_act_on_job
from ...permissions import is_job_creator

#: The permission that lets a user queue jobs (they spend credits).
ADD_JOB_PERMISSION = "django_imageops.add_imagejob"


def image_model():
    """The site's Wagtail image model (``WAGTAILIMAGES_IMAGE_MODEL``)."""
    from wagtail.images import get_image_model

    return get_image_model()


def is_wagtail_image(obj) -> bool:
    """True for an instance of any Wagtail image model (``AbstractImage``)."""
    from wagtail.images.models import AbstractImage

    return isinstance(obj, AbstractImage)


def image_permission_policy(model=None):
    """Wagtail's permission policy of ``model`` (default: the image model): the policy
    registry on Wagtail 8 (``wagtail.permissions.policy_registry``), the images module's policy
    on Wagtail 7.4."""
    model = model or image_model()
    try:
        from wagtail.permissions import policy_registry
    except ImportError:  # Wagtail 7.4
        from wagtail.images.permissions import permission_policy

        return permission_policy
    return policy_registry.get_by_type(model)


def can_change_image(user, image) -> bool:
    """True when Wagtail's image policy lets ``user`` (active) change ``image``."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return image_permission_policy(type(image)).user_has_permission_for_instance(
        user, "change", image
    )


def can_run_operations(user, image=None) -> bool:
    """True when ``user`` may queue operations on ``image`` (on some image when ``None``):
    ``django_imageops.add_imagejob`` and the change permission on the image (Wagtail's
    policy; with ``image=None``, on any image)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if not user.has_perm(ADD_JOB_PERMISSION):
        return False
    if image is None:
        # Owners may change their own images: "add" counts (Wagtail's image policy).
        return image_permission_policy().user_has_any_permission(user, ["add", "change"])
    return can_change_image(user, image)


def can_act_on_job(user, job: ImageJob) -> bool:
    """True when ``user`` may act on ``job``: its creator, a user who may change its source
    image (Wagtail's policy), or whoever ``permissions.can_act_on_job`` allows."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if is_job_creator(user, job) or core_can_act_on_job(user, job):
        return True
    source = job.source_object if job.source_content_type_id else None
    return bool(source is not None and is_wagtail_image(source) and can_change_image(user, source))


def can_view_jobs(user) -> bool:
    """The job list's permission: ``view_imagejob`` or ``change_imagejob``, as in the Django
    admin."""
    return bool(
        user is not None
        and user.is_active
        and (
            user.has_perm("django_imageops.view_imagejob")
            or user.has_perm("django_imageops.change_imagejob")
        )
    )
