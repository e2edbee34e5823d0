"""Sphinx configuration of the django-imageops documentation (``make docs``).

Pages are Markdown (MyST). Django is set up with ``_ext/docs_settings.py`` so that autodoc can
import the package, sphinx-argparse can build the management commands' parsers
(``_ext/commands.py``) and drf-spectacular can generate the REST API schema
(``_ext/imageops_docs.py``).
"""

import os
import sys
from importlib.metadata import version as installed_version
from pathlib import Path

import django

DOCS = Path(__file__).resolve().parent
sys.path[:0] = [str(DOCS / "_ext"), str(DOCS.parent)]
os.environ["DJANGO_SETTINGS_MODULE"] = "docs_settings"
django.setup()

project = "django-imageops"
author = "The django-imageops maintainers"
copyright = f"2026, {author}"
release = installed_version("django-imageops")
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinxarg.ext",
    "sphinxcontrib.openapi",
    "imageops_docs",
]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"

html_theme = "furo"
html_title = f"django-imageops {release}"
