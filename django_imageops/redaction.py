"""Secrets are never stored or shown where a vendor echoed them.

A vendor's answer may repeat a credential ("Invalid API key <key>"), an API token or an image's
secret. Everything that came from a vendor and is stored (a job's ``error_message``, its
history, the balance details) or shown (the REST API, the admin, an action's message) goes
through a ``Redactor``, which replaces each secret it knows by ``[redacted]``:

- the values of the vendor's secret settings (``Provider.secret_settings``: API keys,
  passwords; ``providers.vendor_secrets``);
- the API tokens in use (a job's context adds those it loads or stores);
- the job's image secret (``ImageJob.vendor_secret``).

Jobs redact when they write (``jobs.context``); the REST API and the admin redact again when
they show (``job_redactor``: a row written before, or a secret configured since). Values of
keys naming a key, secret, token or password (``SENSITIVE_WORDS``) in vendor data are hidden
too. Nothing here names a vendor.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

from .providers import find_provider, vendor_secrets

#: What a secret is replaced by.
REDACTED = "[redacted]"

#: Secrets shorter than this are not looked for: replacing a one-character value everywhere
#: would garble every text, and no real key, password or token is that short.
MIN_SECRET_LENGTH = 4

#: Words that make a key of vendor data secret (its value is hidden whatever it is).
SENSITIVE_WORDS = ("key", "secret", "token", "password", "authorization")


def is_sensitive(key: Any) -> bool:
    """Whether a data key names a key, secret, token, password or authorization."""
    lowered = str(key).lower()
    return any(word in lowered for word in SENSITIVE_WORDS)


def _forms(secret: str) -> set[str]:
    """``secret`` as a vendor may echo it: as it is, URL-encoded, JSON-escaped."""
    return {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}


class Redactor:
    """Replaces known secrets by ``REDACTED`` in text and in JSON-like data.

    Args:
        secrets: the values to look for (strings; empty and short ones are ignored).
    """

    def __init__(self, secrets: Iterable[Any] = ()):
        self._forms: list[str] = []
        self.add(*secrets)

    def add(self, *secrets: Any) -> None:
        """Look for ``secrets`` too."""
        forms = set(self._forms)
        for secret in secrets:
            secret = "" if secret is None else str(secret)
            if len(secret) >= MIN_SECRET_LENGTH:
                forms |= _forms(secret)
        # Longest first: a secret containing another is replaced whole.
        self._forms = sorted(forms, key=len, reverse=True)

    def text(self, value: Any) -> str:
        """``str(value)`` with every known secret replaced."""
        text = "" if value is None else str(value)
        for form in self._forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return text

    def data(self, value: Any, *, hide_keys: bool = True) -> Any:
        """A copy of JSON-like ``value`` with every known secret replaced in its strings and,
        with ``hide_keys``, the values of sensitive keys (``is_sensitive``) hidden."""
        if isinstance(value, dict):
            return {
                key: REDACTED
                if hide_keys and is_sensitive(key)
                else self.data(item, hide_keys=hide_keys)
                for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.data(item, hide_keys=hide_keys) for item in value]
        if isinstance(value, str):
            return self.text(value)
        return value


def job_redactor(job) -> Redactor:
    """The ``Redactor`` for what is shown of ``job`` (an ``ImageJob``): its vendor's secret
    settings and its image secret (no query: the settings are merged once per
    configuration)."""
    provider = find_provider(job.operation, job.provider)
    secrets = vendor_secrets(provider.vendor) if provider is not None else ()
    return Redactor((*secrets, job.vendor_secret))
