"""Helpers of the Wagtail tests: images of either model, Wagtail users, the log entries.

Import it after ``pytest.importorskip("wagtail")``.
"""

from __future__ import annotations

import io

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.files.images import ImageFile
from PIL import Image as PILImage
from wagtail.images.forms import BaseImageForm
from wagtail.images.models import Image
from wagtail.models import Collection, GroupCollectionPermission, ModelLogEntry

from django_imageops.contrib.wagtail.forms import ImageOpsImageFormMixin
from tests.contrib.wagtail.testapp.models import CustomImage

#: The two image models every model-level test runs with.
IMAGE_MODELS = [Image, CustomImage]


def png(width: int, height: int, color=(150, 90, 40)) -> bytes:
    """A solid PNG of ``width`` x ``height`` pixels."""
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def root_collection() -> Collection:
    """The root collection (made again when a transactional test's flush removed the one
    Wagtail's migration made)."""
    return Collection.get_first_root_node() or Collection.add_root(name="Root")


def make_image(
    model=Image,
    title="Coffee",
    width=160,
    height=120,
    *,
    collection=None,
    focal=None,
    tags=(),
    user=None,
    **fields,
):
    """A saved image of ``model`` holding a ``width`` x ``height`` PNG (default storage), in
    ``collection`` (default: the root), with ``focal`` = ``(x, y, width, height)`` and
    ``tags``."""
    # A File at creation: Django reads its size then (as Wagtail's own test images do).
    image = model(
        title=title,
        collection=collection or root_collection(),
        uploaded_by_user=user,
        file=ImageFile(
            io.BytesIO(png(width, height)), name=f"{title.lower().replace(' ', '-')}.png"
        ),
        **fields,
    )
    image._set_image_file_metadata()
    if focal:
        (
            image.focal_point_x,
            image.focal_point_y,
            image.focal_point_width,
            image.focal_point_height,
        ) = focal
    image.save()
    if tags:
        image.tags.add(*tags)
    return image


def child_collection(name: str) -> Collection:
    """A collection under the root."""
    return root_collection().add_child(name=name)


def editor(username="editor", *, collection=None, can_queue=True, can_view_jobs=False, **extra):
    """A Wagtail editor (not staff): admin access, add/change/choose images in ``collection``
    (default: the root), ``django_imageops.add_imagejob`` when ``can_queue``,
    ``view_imagejob`` when ``can_view_jobs``."""
    from django.contrib.auth.models import User

    group = Group.objects.create(name=f"{username} editors")
    group.permissions.add(Permission.objects.get(codename="access_admin"))
    collection = collection or root_collection()
    for codename in ("add_image", "change_image", "choose_image"):
        GroupCollectionPermission.objects.create(
            group=group,
            collection=collection,
            permission=Permission.objects.get(
                content_type__app_label="wagtailimages", codename=codename
            ),
        )
    job_type = ContentType.objects.get(app_label="django_imageops", model="imagejob")
    if can_queue:
        group.permissions.add(
            Permission.objects.get(content_type=job_type, codename="add_imagejob")
        )
    if can_view_jobs:
        group.permissions.add(
            Permission.objects.get(content_type=job_type, codename="view_imagejob")
        )
    user = User.objects.create_user(username, f"{username}@example.com", "pw", **extra)
    user.groups.add(group)
    return user


def superuser(username="admin"):
    """A Wagtail superuser."""
    from django.contrib.auth.models import User

    return User.objects.create_superuser(username, f"{username}@example.com", "pw")


def log_actions(image) -> list[str]:
    """The actions of the log entries of ``image``, oldest first."""
    return list(
        ModelLogEntry.objects.for_instance(image)
        .order_by("timestamp", "pk")
        .values_list("action", flat=True)
    )


def log_entry(image, action: str) -> ModelLogEntry:
    """The latest log entry of ``image`` with ``action``."""
    return ModelLogEntry.objects.for_instance(image).filter(action=action).latest("pk")


class MixedImageForm(ImageOpsImageFormMixin, BaseImageForm):
    """A site's own image form base with the operations mixed in (as with wagtail-ai's)."""
