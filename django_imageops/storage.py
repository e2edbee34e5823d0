"""``S3Storage``: django-storages' S3 storage with one boto3 client shared by every thread.

django-storages' ``storages.backends.s3.S3Storage`` builds a boto3 session and an S3 resource
per thread (``threading.local``) the first time a thread calls ``url()``, ``exists()`` or
anything else that reaches ``storage.connection``: each costs ~15 MB (the session loads its
own copy of the service models). A Celery worker with a threads pool (``--concurrency 32``)
would spend hundreds of megabytes on them. boto3 clients are thread-safe and resources are
not, so this subclass builds one client per storage and gives each thread a resource of its
own on top of that client, which costs next to nothing.

A shared client has one connection pool, which botocore sizes at 10 connections: with more
threads than that, every request beyond the tenth opened a new connection and urllib3 logged
"Connection pool is full, discarding connection" for each. Unless the site gives its own
``client_config`` (``AWS_S3_CLIENT_CONFIG``), the client's pool holds
``MAX_POOL_CONNECTIONS`` (64) connections; a site that gives one should set
``max_pool_connections`` to at least its worker threads.

Use it wherever ``S3Storage`` is named, for the ``imageops`` alias and for any storage the
workers read sources from::

    STORAGES["imageops"] = {
        "BACKEND": "django_imageops.storage.S3Storage",
        "OPTIONS": {"bucket_name": "my-site-images", "querystring_auth": True},
    }

Everything else (options, settings, behaviour) is django-storages'. Needs the ``s3`` extra.
"""

from __future__ import annotations

import threading
from typing import Any

from botocore.config import Config
from django.conf import settings as django_settings
from storages.backends.s3 import S3Storage as _S3Storage

__all__ = ["MAX_POOL_CONNECTIONS", "S3Storage"]

#: Connections in the shared client's pool (botocore's default is 10), enough for a Celery
#: worker's threads (the docs recommend ``--concurrency 32``) with room to spare.
MAX_POOL_CONNECTIONS = 64


class S3Storage(_S3Storage):
    """django-storages' ``S3Storage``, whose threads share one boto3 client (and one for
    unsigned URLs): ``connection`` and ``unsigned_connection`` are per-thread S3 resources
    built on the shared client. Same options and behaviour as the parent."""

    #: The botocore ``Config`` django-storages builds its clients with (set by its ``__init__``).
    client_config: Any

    def __init__(self, **settings: Any):
        super().__init__(**settings)
        if not settings.get("client_config") and not self._site_client_config():
            # django-storages built its default Config; the same with a pool for many threads.
            self.client_config = self.client_config.merge(
                Config(max_pool_connections=MAX_POOL_CONNECTIONS)
            )
        self._shared_lock = threading.Lock()
        self._shared: dict[str, Any] = {}

    @staticmethod
    def _site_client_config() -> Any:
        """The ``AWS_S3_CLIENT_CONFIG`` setting, or None."""
        return getattr(django_settings, "AWS_S3_CLIENT_CONFIG", None)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_shared_lock", None)
        state.pop("_shared", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self._shared_lock = threading.Lock()
        self._shared = {}

    @property
    def connection(self):
        """This thread's S3 resource, on the storage's one boto3 client."""
        return self._thread_resource("connection", self._connections)

    @property
    def unsigned_connection(self):
        """This thread's S3 resource for unsigned URLs, on the storage's one unsigned client."""
        return self._thread_resource("unsigned_connection", self._unsigned_connections)

    def _thread_resource(self, name: str, local: threading.local):
        resource = getattr(local, "connection", None)
        if resource is None:
            with self._shared_lock:
                if name not in self._shared:
                    # django-storages builds the first one (session, options, client config) and
                    # keeps it for this thread; its client is the one every thread shares.
                    self._shared[name] = getattr(super(), name)
            shared = self._shared[name]
            resource = getattr(local, "connection", None)
            if resource is None:
                resource = local.connection = type(shared)(client=shared.meta.client)
        return resource
