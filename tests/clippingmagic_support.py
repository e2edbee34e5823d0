"""Helpers shared by the ClippingMagic review tests (editor page, fetch command, key leak, browser).

Jobs are made the real way: ``jobs.create_jobs`` then ``jobs.run_job``, which uploads the image
to the sandbox with ``format=json`` and leaves the job ``waiting_for_editor`` with the image's
id and secret.
"""

from __future__ import annotations

import io
import json
import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from django_imageops import jobs
from django_imageops.models import ImageJob
from tests.conftest import make_image
from tests.testapp.models import Photo

CONFIG_RE = re.compile(
    r'<script id="imageops-editor-config" type="application/json">(.*?)</script>', re.S
)


def editor_config(html: str | bytes) -> dict:
    """The ``json_script`` data of an editor page."""
    if isinstance(html, bytes):
        html = html.decode()
    match = CONFIG_RE.search(html)
    assert match, "no editor config on the page"
    return json.loads(match.group(1))


def make_user(username: str, *, staff=False, superuser=False, perms=()):
    """A user with password ``pw`` and the given ``"app_label.codename"`` permissions."""
    user = get_user_model().objects.create_user(
        username, password="pw", is_staff=staff or superuser, is_superuser=superuser
    )
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


def make_photo(width=64, height=48) -> Photo:
    """A ``Photo`` whose ``image`` is a small PNG on the default storage."""
    photo = Photo(title="Red square")
    photo.image.save("red.png", ContentFile(make_image(width, height)), save=True)
    return photo


def create_review_job(*, user=None, photo: Photo | None = None, run=True) -> ImageJob:
    """A ClippingMagic ``remove_background`` job in review mode (test images: free).

    On ``photo``'s ``image`` when given, else on an uploaded PNG. With ``run`` the job is run
    at once (the sandbox upload), so it is ``waiting_for_editor`` with id and secret.
    """
    params = {"mode": "review", "test": True}
    if photo is not None:
        [job] = jobs.create_jobs(
            "remove_background",
            objects=[photo],
            field="image",
            params=params,
            created_by=user,
        )
    else:
        upload = SimpleUploadedFile("square.png", make_image(), content_type="image/png")
        [job] = jobs.create_jobs(
            "remove_background", uploads=[upload], params=params, created_by=user
        )
    if run:
        jobs.run_job(job.pk)
        job.refresh_from_db()
    return job


def image_mode(content: bytes) -> tuple[str, tuple[int, int]]:
    """``(mode, size)`` of encoded image bytes."""
    with Image.open(io.BytesIO(content)) as image:
        return image.mode, image.size


def has_alpha(content: bytes) -> bool:
    """True when the image has an alpha channel with at least one non-opaque pixel."""
    with Image.open(io.BytesIO(content)) as image:
        if "A" not in image.getbands() and "transparency" not in image.info:
            return False
        alpha = image.convert("RGBA").getchannel("A")
        return alpha.getextrema()[0] < 255
