"""Signals sent by ``django_imageops.jobs`` when a job finishes.

``job_succeeded`` and ``job_failed`` are sent with ``sender=ImageJob`` and keyword ``job`` (the
``ImageJob`` instance, already saved), after the transaction that finished it commits.
"""

from django.dispatch import Signal

job_succeeded = Signal()
job_failed = Signal()
