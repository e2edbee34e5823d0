#!/usr/bin/env python
"""Django's command-line utility for the django-imageops example project.

``python example_project/manage.py imageops_demo`` runs the demo, ``imageops_serve`` the site.
"""

import os
import sys
from pathlib import Path


def main():
    """Run a management command with ``example_project.settings``."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    # Always this project's settings, even when a shell exports another module (tests.settings).
    os.environ["DJANGO_SETTINGS_MODULE"] = "example_project.settings"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
