"""WSGI entry point of the example project (``example_project.wsgi.application``).

The embedded sandbox and S3 server are started by ``manage.py imageops_serve``, not here: a real
deployment sets vendor credentials and ``AWS_STORAGE_BUCKET_NAME`` in the environment.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")

application = get_wsgi_application()
