"""Tests of ``django_imageops.admin``: the operation actions and the job admin."""
