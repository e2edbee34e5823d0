"""Fixtures of the admin tests."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from tests.conftest import make_image
from tests.testapp.models import Photo


@pytest.fixture
def photo(db):
    photo = Photo(title="Red")
    photo.image.save("red.png", ContentFile(make_image(64, 48)))
    return photo
