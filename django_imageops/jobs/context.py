"""The contexts a provider's steps get (``providers.base.JobContext``), implemented on a job.

- ``RunContext``: during ``run_job`` (``start``/``poll``). ``reserve_budget`` takes the job's
  price from its budgets before the provider starts (or the job waits for them); ``call``
  reserves a rate-limit slot, counts the run's attempt (at its first call), calls the vendor,
  records the call and its credits (a ``paid`` call without a vendor figure records the
  vendor's price, marked estimated) and settles the budget; when the limiter says to wait or
  the vendor fails, the job is deferred, retried, polled again later or failed here, and
  ``_Stop`` ends the provider's step (the runner catches it).
- ``NowContext``: for calls a person is waiting for (the editor's review result, the account
  balance, deleting the vendor-side copy): a limiter wait raises ``RateLimited``, vendor errors
  propagate to the caller, and nothing is recorded but what the provider notes or charges.
  ``close`` ends it (with the balance an account call reported).

Calls that may cost credits on a vendor whose balance is reconciled
(``Provider.tracks_balance``) are counted while under way (``credits.begin_call``), so that a
balance reported while nothing else was under way can be reconciled exactly.

Both keep the vendor's API tokens in ``VendorToken`` (per vendor and account), and both redact
(``redaction.Redactor``) what the vendor said before anyone stores or shows it: a vendor error
is scrubbed before it is recorded or raised, notes and vendor ids before they are written, of
the vendor's secret settings, the tokens the context loaded or stored and the job's image
secret.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.text import get_text_list
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import ratelimit
from ..conf import get_setting
from ..models import ImageJob, VendorToken
from ..providers import JobContext, Provider, vendor_secrets, vendor_settings
from ..redaction import Redactor
from ..vendors import (
    AuthenticationError,
    InsufficientCredits,
    InvalidImage,
    NotFound,
    RateLimited,
    VendorError,
)
from .budgets import BudgetExhausted, Reservation, reserve
from .credits import begin_call, end_call, record_call
from .history import Kind, record_event
from .states import (
    count_attempt,
    defer,
    fail,
    retry_later,
    schedule_poll,
    update,
    wait_for_budget,
)

Kind = Kind


class _Stop(BaseException):
    """The job was rescheduled, deferred or failed by ``RunContext.call``: the provider's step
    ends here. A ``BaseException`` so that a provider's ``except Exception`` lets it through."""


def plain_message(exc: VendorError, provider: Provider) -> str:
    """The vendor's reason in plain words (stored in ``error_message``), naming the vendor by
    ``provider.label``; a refused credential names the settings that hold the provider's
    ``credentials`` under its vendor's key (e.g. "Check API_ID and API_KEY in
    IMAGEOPS['VENDORS'][...]"), not always an API key."""
    vendor = provider.label or _("The vendor")
    status = f" (HTTP {exc.status_code})" if exc.status_code else ""
    reason = exc.message or ""
    if isinstance(exc, AuthenticationError):
        text = _(
            "%(vendor)s refused our credentials%(status)s: %(reason)s. Check %(settings)s in "
            "IMAGEOPS['VENDORS']['%(key)s']."
        )
        names = list(provider.credentials) or ["API_KEY"]
        return str(
            text
            % {
                "vendor": vendor,
                "status": status,
                "reason": reason.rstrip(". "),
                "settings": get_text_list(names, gettext("and")),
                "key": provider.vendor,
            }
        )
    elif isinstance(exc, InsufficientCredits):
        text = _(
            "The %(vendor)s account has no credits left%(status)s: %(reason)s. Buy credits, "
            "then retry the job."
        )
    elif isinstance(exc, InvalidImage):
        text = _("%(vendor)s could not process this image%(status)s: %(reason)s.")
    elif isinstance(exc, NotFound):
        text = _("%(vendor)s no longer has this image%(status)s: %(reason)s.")
    elif isinstance(exc, RateLimited):
        text = _("%(vendor)s is rate limiting our requests%(status)s: %(reason)s.")
    elif exc.retryable:
        text = _("%(vendor)s is unavailable%(status)s: %(reason)s.")
    else:
        text = _("%(vendor)s refused the request%(status)s: %(reason)s.")
    return str(text % {"vendor": vendor, "status": status, "reason": reason.rstrip(". ")})


def _num(value) -> str | None:
    return None if value is None else str(value)


class _Context(JobContext):
    """What both contexts share: the job's data, the vendor's settings, client and tokens."""

    #: The history kind of ``note``.
    note_kind: str = Kind.ATTEMPT

    def __init__(self, provider: Provider, job: ImageJob | None = None):
        self.provider = provider
        self.job = job
        self.settings = vendor_settings(provider.vendor)
        self.credential = provider.account(self.settings)
        self._client = None
        self._redactor = Redactor(vendor_secrets(provider.vendor))

    # Secrets out of whatever the vendor said.

    def redact(self, value: Any) -> str:
        """``str(value)`` without the vendor's secrets, its tokens or the job's image secret."""
        return self._redactor_now().text(value)

    def redact_data(self, value: Any) -> Any:
        """A copy of JSON-like ``value`` with those secrets and the values of sensitive keys
        (an image ``secret``, a ``token``...) replaced."""
        return self._redactor_now().data(value)

    def scrub(self, exc: VendorError) -> VendorError:
        """Redact ``exc``'s message and body in place (before it is recorded or raised)."""
        redactor = self._redactor_now()
        exc.message = redactor.text(exc.message)
        exc.args = tuple(redactor.text(a) if isinstance(a, str) else a for a in exc.args)
        if exc.body:
            exc.body = redactor.text(exc.body.decode("utf-8", "replace")).encode()
        return exc

    def _redactor_now(self) -> Redactor:
        if self.job is not None and self.job.vendor_secret:
            self._redactor.add(self.job.vendor_secret)
        return self._redactor

    # The job's data (read only for the provider).

    @property
    def params(self):
        """The job's ``params``; ``RuntimeError`` without a job (see
        ``providers.base.JobContext.params``)."""
        return self._job.params

    @property
    def vendor_image_id(self) -> str:
        """The job's ``vendor_image_id``; ``RuntimeError`` without a job (see
        ``providers.base.JobContext.vendor_image_id``)."""
        return self._job.vendor_image_id

    @property
    def vendor_secret(self) -> str:
        """The job's ``vendor_secret``; ``RuntimeError`` without a job (see
        ``providers.base.JobContext.vendor_secret``)."""
        return self._job.vendor_secret

    @property
    def vendor_result_revision(self) -> int:
        """The job's ``vendor_result_revision``; ``RuntimeError`` without a job (see
        ``providers.base.JobContext.vendor_result_revision``)."""
        return self._job.vendor_result_revision

    @property
    def vendor_state(self):
        """A copy of the job's ``vendor_state``; ``RuntimeError`` without a job (see
        ``providers.base.JobContext.vendor_state``)."""
        return dict(self._job.vendor_state)

    @property
    def _job(self) -> ImageJob:
        if self.job is None:
            raise RuntimeError("this vendor call is made for no job")
        return self.job

    # The vendor.

    def client(self):
        """``provider.build_client(self)``, built at the first use and kept (see
        ``providers.base.VendorContext.client``)."""
        if self._client is None:
            self._client = self.provider.build_client(self)
        return self._client

    def load_tokens(self):
        """The account's ``VendorToken`` pair, or None; the tokens are redacted from then on
        (see ``providers.base.VendorContext.load_tokens``)."""
        token = VendorToken.objects.filter(
            vendor=self.provider.vendor, account=self.credential
        ).first()
        if token is None:
            return None
        self._redactor.add(token.access_token, token.refresh_token)
        return {"access_token": token.access_token, "refresh_token": token.refresh_token}

    def tokens_lock(self):
        """``ratelimit.exclusive`` on the account's ``"tokens"`` (see
        ``providers.base.VendorContext.tokens_lock``)."""
        return ratelimit.exclusive(self.provider.vendor, self.credential, "tokens")

    def store_tokens(self, pair):
        """Update or create the account's ``VendorToken``; the new tokens are redacted from
        then on (see ``providers.base.VendorContext.store_tokens``)."""
        self._redactor.add(pair.get("access_token"), pair.get("refresh_token"))
        VendorToken.objects.update_or_create(
            vendor=self.provider.vendor,
            account=self.credential,
            defaults={
                "access_token": pair.get("access_token", ""),
                "refresh_token": pair.get("refresh_token", ""),
            },
        )

    def _reserve(self, resource: str | None) -> float:
        vendor = self.provider.vendor
        if resource is None:
            return ratelimit.reserve(vendor, self.credential)
        return ratelimit.reserve(vendor, self.credential, resource=resource)

    def _stale_after(self) -> float:
        """Seconds after which a call counted as under way is taken for a dead worker's: the
        client's connect + read timeouts, plus a minute."""
        timeout = self.provider.client_options(self).get("timeout") or get_setting("TIMEOUT")
        total = sum(timeout) if isinstance(timeout, (tuple, list)) else float(timeout or 0)
        return total + 60.0

    def _back_off_if_told(self, exc: VendorError) -> None:
        """After a 429 with ``Retry-After``, make every worker wait it out, not only this job."""
        if isinstance(exc, RateLimited) and exc.retry_after:
            ratelimit.backoff(self.provider.vendor, self.credential, exc.retry_after)

    # Writes on the job.

    def note(self, message, **data):
        """RunContext: a redacted ``attempt`` event, buffered until the job's next event is
        written (see ``providers.base.JobContext.note``)."""
        record_event(
            self._job, self.note_kind, self.redact(message), defer=True, **self.redact_data(data)
        )

    def save_vendor_refs(self, *, image_id=None, secret=None, state=None):
        """One ``states.update`` of the given fields, none when nothing is given (see
        ``providers.base.JobContext.save_vendor_refs``)."""
        job = self._job
        fields: dict[str, Any] = {}
        if image_id is not None:
            fields["vendor_image_id"] = image_id
        if secret is not None:
            fields["vendor_secret"] = secret
        if state:
            fields["vendor_state"] = {**job.vendor_state, **state}
        if fields:
            update(job, **fields)

    def claim_flag(self, key):
        """One conditional UPDATE on the job's row (see
        ``providers.base.JobContext.claim_flag``)."""
        job = self._job
        if job.vendor_state.get(key):
            return False
        state = {**job.vendor_state, key: True}
        marked = (
            ImageJob.objects.filter(pk=job.pk)
            .exclude(vendor_state__has_key=key)
            .update(vendor_state=state, updated_at=timezone.now())
        )
        job.vendor_state = state
        return bool(marked)

    def charge(self, credits_spent, *, estimated=False):
        """``credits.record_call`` of the credits, nothing for 0 (see
        ``providers.base.JobContext.charge``)."""
        if credits_spent:
            # Credits no answer reported: the balance, the day's usage and the budgets follow.
            record_call(
                self._job,
                self.provider.vendor,
                consumed=Decimal(credits_spent),
                estimated=estimated,
            )

    def refresh(self):
        """``refresh_from_db`` on the job (see ``providers.base.JobContext.refresh``)."""
        self._job.refresh_from_db()


class RunContext(_Context):
    """The context of ``run_job``: the provider's ``start`` (``polling`` False) or ``poll``."""

    def __init__(self, provider: Provider, job: ImageJob, *, polling: bool = False):
        super().__init__(provider, job)
        self.polling = polling
        #: The last ``VendorResult`` a vendor call of this step returned (None before one).
        self.answered = None
        #: The job's budget reservation (``reserve_budget``), settled by its paid call.
        self.reservation: Reservation | None = None
        #: Whether this run counted its attempt (at its first vendor call).
        self.counted = False

    def price(self) -> Decimal:
        """What the job is expected to cost (``Provider.price``), in credits."""
        return self.provider.price(self._job.params, self.settings)

    def reserve_budget(self) -> bool:
        """Take the job's price from every budget that applies before its first vendor call.

        Returns:
            True when the job may go on (reserved, or no budget applies, or a person's review
            job, charged when its result is downloaded); False when a budget is spent: the job
            now waits for it (``pending``, ``error_code`` ``budget_exhausted``).
        """
        job = self._job
        if self.provider.is_review(job.params):
            return True
        try:
            self.reservation = reserve(
                self.provider.vendor, self.price(), user_id=job.created_by_id, batch=job.batch
            )
        except BudgetExhausted as exc:
            wait_for_budget(job, exc.budget.waiting_message(), exc.budget.resets_at)
            return False
        return True

    def release_budget(self) -> None:
        """Give back a reservation no paid call used (the job ended otherwise)."""
        if self.reservation is not None:
            self.reservation.release()

    def call(self, fn, *, resource=None, paid=False):
        """RunContext: the call, its attempt, history, credits and budget settled; a wait or a
        vendor error reschedules or fails the job and raises ``_Stop`` (see
        ``providers.base.VendorContext.call``)."""
        job, provider = self._job, self.provider
        wait = self._reserve(resource)
        if wait and wait > 0:
            if self.polling:
                schedule_poll(job, max(wait, 0.5))
            else:
                # The try is paused, not over: the run that goes on with it counts it.
                self._count_attempt(-1 if self.counted else 0)
                defer(job, wait, f"{provider.label} rate limit: waiting {wait:.1f} s")
            raise _Stop
        if not self.polling and not self.counted:
            self._count_attempt(1)
        tracked = (
            paid
            and provider.tracks_balance
            and begin_call(provider.vendor, stale_after=self._stale_after())
        )
        started = time.monotonic()
        try:
            result = fn(self.client())
        except VendorError as exc:
            self.scrub(exc)
            self._call_failed(tracked, paid)
            record_event(
                job,
                Kind.ERROR,
                str(exc),
                error_code=exc.error_code,
                status=exc.status_code,
                vendor_code=str(exc.code or ""),
                retry_after=exc.retry_after,
                seconds=round(time.monotonic() - started, 3),
            )
            self._back_off_if_told(exc)
            message = plain_message(exc, provider)
            if not exc.retryable:
                fail(job, exc.error_code, message)
            elif self.polling:
                schedule_poll(job, provider.poll_interval(self))
            else:
                retry_later(job, exc.error_code, message, error=exc)
            raise _Stop from exc
        except Exception:
            self._call_failed(tracked, paid)
            raise
        finally:
            ratelimit.release(provider.vendor, self.credential)
        # From here on the vendor has answered (and charged): nothing below may lose it. The
        # job's credits go with its next write; the runner spools ``answered`` if what follows
        # fails.
        self.answered = result
        consumed, estimated = result.credits_consumed, False
        if paid and consumed is None:
            consumed, estimated = self.price(), True
        reservation = self.reservation if paid and self.reservation else None
        record_call(
            job,
            provider.vendor,
            consumed=consumed,
            remaining=result.credits_remaining,
            defer=True,
            estimated=estimated,
            tracked=tracked,
            budgeted=reservation is not None and reservation.open,
        )
        if reservation is not None:
            reservation.settle(consumed or 0)
        record_event(
            job,
            Kind.VENDOR_CALL,
            f"{provider.label} answered HTTP {result.status_code}",
            defer=True,
            seconds=round(time.monotonic() - started, 3),
            credits_consumed=_num(consumed),
            credits_estimated=estimated,
            credits_remaining=_num(result.credits_remaining),
            vendor_ids=self.redact_data(dict(result.vendor_ids)),
            bytes=len(result.content),
        )
        return result

    def _count_attempt(self, step: int) -> None:
        """An attempt is one try at the job, not one vendor call: a run that starts the job
        counts one at its first call (PiktID's upload and generate are one attempt); polls
        count none; a run the rate limiter pauses gives its count back (``step`` -1)."""
        if step:
            count_attempt(self._job, step)
            self.counted = step > 0

    def _call_failed(self, tracked: bool, paid: bool) -> None:
        """A paid call failed: it no longer counts as under way, and its reservation is given
        back (a vendor that charged anyway shows in its balance: see ``jobs.credits``)."""
        if tracked:
            end_call(self.provider.vendor)
        if paid:
            self.release_budget()


class NowContext(_Context):
    """The context of a vendor call a person waits for (``job`` None: an account call).

    On a vendor whose balance is reconciled, its calls count as under way from the first to
    ``close()``, which the caller runs when done (with the balance an account call reported).
    """

    note_kind = Kind.EDITOR

    def __init__(self, provider: Provider, job: ImageJob | None = None):
        super().__init__(provider, job)
        self._tracked = False

    def call(self, fn, *, resource=None, paid=False):
        """NowContext: a limiter wait raises ``RateLimited``, vendor errors propagate
        (redacted), nothing is recorded (see ``providers.base.VendorContext.call``)."""
        provider = self.provider
        wait = self._reserve(resource)
        if wait and wait > 0:
            raise RateLimited(
                f"our own rate limit for {provider.label}: try again in {wait:.0f} s",
                vendor=provider.vendor,
                retry_after=wait,
            )
        if provider.tracks_balance and not self._tracked:
            self._tracked = begin_call(provider.vendor, stale_after=self._stale_after())
        try:
            return fn(self.client())
        except VendorError as exc:
            self.scrub(exc)
            self._back_off_if_told(exc)
            raise
        finally:
            ratelimit.release(provider.vendor, self.credential)

    def close(self, *, remaining: Decimal | None = None, details: dict | None = None) -> None:
        """End the context's calls; ``remaining``/``details``: the balance an account call
        reported (stored, and reconciled when no paid call ran meanwhile)."""
        tracked, self._tracked = self._tracked, False
        if remaining is not None or details is not None:
            record_call(
                self.job,
                self.provider.vendor,
                remaining=remaining,
                details=details,
                tracked=tracked,
            )
        elif tracked:
            end_call(self.provider.vendor)

    def note(self, message, **data):
        """NowContext: a redacted ``editor`` event, written now (see
        ``providers.base.JobContext.note``)."""
        record_event(self._job, self.note_kind, self.redact(message), **self.redact_data(data))
