"""``django_imageops.storage.S3Storage`` on moto's S3 server: worker threads share one boto3
client (django-storages builds a session, a resource and a client per thread), each thread has
its own resource on it, and the storage behaves as django-storages' does."""

from __future__ import annotations

import pickle
import threading

import pytest
import requests
from botocore.config import Config
from django.conf import settings
from django.core.files.base import ContentFile

from django_imageops.storage import S3Storage


@pytest.fixture
def storage(s3):
    return S3Storage(**settings.STORAGES["imageops"]["OPTIONS"])


def in_threads(fn, count=8):
    """``fn(index)`` in ``count`` threads at once; returns their results in order."""
    results: list = [None] * count
    errors: list = []
    start = threading.Barrier(count)

    def run(index):
        try:
            start.wait()
            results[index] = fn(index)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_threads_share_one_client_each_with_its_own_resource(storage):
    def touch(index):
        name = storage._save(f"imageops/tests/thread-{index}.txt", ContentFile(b"x" * index))
        url = storage.url(name)
        assert storage.exists(name)
        with storage.open(name) as file:
            assert file.read() == b"x" * index
        assert requests.get(url, timeout=10).content == b"x" * index  # presigned, on moto
        return storage.connection, storage.unsigned_connection

    resources = in_threads(touch)
    assert len({id(resource) for resource, _ in resources}) == len(resources)
    assert len({id(resource.meta.client) for resource, _ in resources}) == 1
    assert len({id(unsigned.meta.client) for _, unsigned in resources}) == 1
    signed, unsigned = resources[0]
    assert signed.meta.client is not unsigned.meta.client


def test_unsigned_urls_when_querystring_auth_is_off(s3):
    storage = S3Storage(**{**settings.STORAGES["imageops"]["OPTIONS"], "querystring_auth": False})
    name = storage._save("imageops/tests/public.txt", ContentFile(b"public"))
    urls = in_threads(lambda index: storage.url(name), count=4)
    assert len(set(urls)) == 1 and "Signature" not in urls[0]


def test_pickles_without_its_clients(storage):
    storage.url("imageops/tests/anything.txt")  # builds the shared client
    copy = pickle.loads(pickle.dumps(storage))
    name = "imageops/tests/copied.txt"
    storage._save(name, ContentFile(b"copied"))
    assert copy.exists(name)
    assert requests.get(copy.url(name), timeout=10).content == b"copied"
    assert copy.connection.meta.client is not storage.connection.meta.client


def test_more_threads_than_botocores_pool_reuse_their_connections(storage, caplog):
    # botocore's pool holds 10 connections: 16 threads on one shared client discarded a
    # connection after most requests ("Connection pool is full") and opened new ones.
    in_threads(lambda index: storage._save(f"imageops/tests/pool-{index}.txt", ContentFile(b"p")))
    with caplog.at_level("WARNING", logger="urllib3.connectionpool"):
        in_threads(
            lambda index: [storage.exists(f"imageops/tests/pool-{index}.txt") for _ in range(3)],
            count=16,
        )
    assert "Connection pool is full" not in caplog.text
    assert storage.connection.meta.client.meta.config.max_pool_connections == 64


def test_a_sites_own_client_config_is_kept(s3):
    config = Config(max_pool_connections=5, s3={"addressing_style": "path"})
    options = {**settings.STORAGES["imageops"]["OPTIONS"], "client_config": config}
    storage = S3Storage(**options)
    assert storage.connection.meta.client.meta.config.max_pool_connections == 5
