"""Signals sent by ``django_imageops.jobs``.

``job_succeeded`` and ``job_failed`` are sent with ``sender=ImageJob`` and keyword ``job`` (the
``ImageJob`` instance, already saved), after the transaction that finished it commits.

``credits_low`` is sent with ``sender=VendorCredits`` and keywords ``vendor`` (the vendor's
name, e.g. ``"clipdrop"``), ``remaining`` (its balance, credits, ``Decimal``) and ``threshold``
(its ``LOW_BALANCE`` setting), after the commit that recorded a balance below the threshold:
once per fall (a balance back at or above the threshold re-arms it).
"""

from django.dispatch import Signal

job_succeeded = Signal()
job_failed = Signal()
credits_low = Signal()
