"""The tutorial does what it promises: its site, pasted from its snippets, runs a first job on
the sandbox.

The project is built from docs/tutorial.md's own blocks (``tests/docs/snippets.py``), pointed at
a sandbox started here (the tutorial's settings read ``IMAGEOPS_SANDBOX_URL``), migrated, and
then does what the reader does in the admin, in ``manage.py shell``: a product saved with a
photo gets its cut-out (``DerivedImageField(auto=True)``), and a crop job on it succeeds.
"""

from __future__ import annotations

import json
import textwrap

from django_imageops.sandbox import run_in_thread
from tests.docs.snippets import REPO_ROOT, document_site

SCRIPT = textwrap.dedent(
    """
    import io, json

    from django.core.files.base import ContentFile
    from PIL import Image

    from django_imageops import jobs
    from django_imageops.models import ImageJob
    from shop.models import Product

    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 80, 40)).save(buffer, "PNG")
    product = Product(name="Red box")
    product.photo.save("red-box.png", ContentFile(buffer.getvalue()))  # saves: cut-out queued
    (crop,) = jobs.create_jobs(
        "crop",
        objects=[product],
        field="photo",
        params={"x": 10, "y": 20, "width": 100, "height": 50},
    )
    product.refresh_from_db()
    crop.refresh_from_db()
    print(json.dumps({
        "jobs": sorted((j.operation, j.status) for j in ImageJob.objects.all()),
        "cutout": product.cutout.name,
        "crop_size": [crop.result_width, crop.result_height],
    }))
    """
)


def test_tutorial_site_runs_its_first_jobs_on_the_sandbox(tmp_path):
    sandbox = run_in_thread(port=0)
    try:
        site = document_site(REPO_ROOT / "docs" / "tutorial.md", tmp_path / "site")
        site.environ["IMAGEOPS_SANDBOX_URL"] = sandbox.url
        site.manage("makemigrations", "shop")
        site.manage("migrate", "--noinput")
        outcome = json.loads(site.manage("shell", "-c", SCRIPT).strip().splitlines()[-1])
    finally:
        sandbox.shutdown()
    assert outcome["jobs"] == [["crop", "succeeded"], ["remove_background", "succeeded"]]
    assert outcome["cutout"]
    assert (tmp_path / "site" / "media" / outcome["cutout"]).is_file()
    assert outcome["crop_size"] == [100, 50]
