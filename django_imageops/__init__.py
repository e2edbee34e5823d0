"""django-imageops: paid image-AI vendor APIs behind Django's admin, models, tasks and DRF."""

__version__ = "0.1.0"
