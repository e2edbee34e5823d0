"""The image operations on Wagtail images, in Wagtail's admin (extra ``wagtail``).

Add ``"django_imageops.contrib.wagtail"`` to ``INSTALLED_APPS`` (with ``django_imageops``) and
``WAGTAILIMAGES_IMAGE_FORM_BASE = "django_imageops.contrib.wagtail.forms.ImageOpsImageForm"``;
the how-to "Use it with Wagtail" says the rest. Wagtail 7.4 LTS and 8.x.

- ``bulk_actions``: Remove background, Uncrop, Reimagine and Crop on the image listing
  (``ImageBulkAction`` subclasses, as Wagtail's own *Tag*), with the operation forms the Django
  admin uses (``django_imageops.forms``) plus *where the result goes*;
- ``forms``: those forms, and ``ImageOpsImageForm``, which puts the operations as buttons on an
  image's edit page (the in-place panel of the Django admin's change page: progress,
  before/after, apply or discard);
- ``destinations``: where a result goes, chosen per action (``models.ImageJobDestination``): a
  new image beside the source, or the source's file replaced with history (size, hash, focal
  point moved by ``focal_point``, renditions deleted, search index, log entry
  ``django_imageops.replace``);
- ``viewsets``: the job list and job pages in Wagtail's admin; ``views``: the edit page's panel
  and the ClippingMagic editor page in Wagtail's skin;
- ``permissions``: the Django admin's rules, with Wagtail's image permission policy deciding who
  may change an image; ``checks``: ``django_imageops.W101``; ``wagtail_hooks``: the
  registrations.

Like every interface, it creates jobs (``django_imageops.jobs``) and never calls a vendor.
"""
