"""The provider contract: one operation on one vendor (``uncrop`` on PiktID, ``crop`` on PixLab).

A provider declares what it is (``name``, ``vendor``, ``label``, ``operation``, the vendor
client it builds, the credentials it needs, its default settings, the image formats and limits
of the vendor, capability flags) and implements the steps of a job:

1. ``clean_params(params)``: the operation's parameters as this provider takes them
   (``params()`` narrows or extends the operation's declarations); errors keyed by field.
2. ``check_image(params, info)`` and ``prepare(params, data, ...)``: refuse what the vendor
   would refuse, fit the image to its limits before paying (``Prepared``).
3. ``start(ctx, prepared)`` and, for asynchronous vendors, ``poll(ctx)``: make the vendor
   calls through ``ctx.call`` and return an **outcome**: ``Result`` (the bytes to store),
   ``PollLater`` (ask again in N seconds), ``StartAgain`` (a poll found that the vendor has
   nothing for the job: ``start`` again), ``WaitForEditor`` (a person finishes the job in the
   vendor's editor) or ``Failure`` (the vendor said no, in its own way).

The job runner (``django_imageops.jobs``) does the rest and never names a vendor: it claims the
job, reads and hashes the source, reuses identical results (``is_deterministic``), handles the
outcome, stores results (and spools them when storage fails), records credits and history, and
schedules retries. A provider never touches the database, never imports ``jobs`` and never
writes a job's status: everything it needs comes through the context (``JobContext``), which
``jobs`` implements.

What a job costs: the vendor's own figure when a call reports one (``VendorResult.
credits_consumed``), else ``price(params, settings)``: ``default_price`` credits per job (the
provider's documented default), which a site changes with ``IMAGEOPS["VENDORS"][vendor]
["PRICE"]``. A provider marks the one call of a job that costs credits with ``ctx.call(...,
paid=True)``; the jobs record its cost (flagged as estimated when it came from the price).

Capability flags (like django-tasks' ``supports_defer``) tell the interfaces what to offer:
``supports_seed``, ``is_async``, ``supports_review``, ``supports_balance``, ``reports_balance``,
``supports_vendor_copy_delete``. Each has a docstring below; a flag set to ``True`` promises the
methods it names.
"""

from __future__ import annotations

import abc
import math
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.translation import gettext_lazy as _

from ..amounts import parse_credits
from ..conf import get_setting, get_settings
from ..images import ImageInfo, fit_image, inspect_image
from ..operations import OPERATIONS, Operation, Param, clean_declared, is_empty
from ..vendors.base import ImageUpload, VendorResult

# -- what the steps return -------------------------------------------------------------------


@dataclass
class Prepared:
    """An image ready for one provider, and the parameters to send with it.

    Attributes:
        upload: the bytes to send (the original bytes when nothing had to change).
        params: the vendor call's parameters (pixel parameters scaled when the image was
            resized).
        width, height: the size of ``upload`` in pixels.
        scale: the resize factor applied (1.0 = unchanged).
        notes: plain-words notes on what was changed (recorded in the job's history).
    """

    upload: ImageUpload
    params: dict[str, Any]
    width: int
    height: int
    scale: float = 1.0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Result:
    """Outcome: the vendor's result, to be stored as the job's result (the job succeeds).

    Attributes:
        content: the result file's bytes.
        content_type: its MIME type as the vendor said (the stored type is sniffed from the
            bytes when they are a known image format).
        revision: the vendor's revision of this result when the vendor versions results (e.g. a
            person saving again in the vendor's editor); stored in
            ``ImageJob.vendor_result_revision`` and named in the result's file name from 2 on.
            ``None``: the vendor has no revisions (the result is revision 1).
    """

    content: bytes
    content_type: str = ""
    revision: int | None = None


@dataclass(frozen=True)
class PollLater:
    """Outcome: the vendor works asynchronously; ``poll(ctx)`` runs again in ``after_seconds``
    (a scheduled run of the job, never a sleep; the job stays ``running``).

    Attributes:
        after_seconds: seconds until the next poll.
        state: keys merged into the job's ``vendor_state`` (what the next poll needs).
    """

    after_seconds: float
    state: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StartAgain:
    """Outcome of ``poll``: the vendor has nothing for this job after all (e.g. a request whose
    answer was lost, to a killed worker or a read timeout, turns out never to have been carried
    out), so ``start(ctx, prepared)`` runs again, as a new attempt, ``after_seconds`` from now.
    The job goes back to ``pending`` (``IMAGEOPS["MAX_ATTEMPTS"]`` bounds the attempts), keeping
    its vendor references.

    Attributes:
        after_seconds: seconds until ``start`` runs again.
        state: keys merged into the job's ``vendor_state`` (e.g. clearing a marker).
        message: what the job's history says (plain words).
    """

    after_seconds: float = 0.0
    state: Mapping[str, Any] = field(default_factory=dict)
    message: str = ""


@dataclass(frozen=True)
class WaitForEditor:
    """Outcome: the image is on the vendor's side and a person finishes the job in the vendor's
    editor (the job waits, ``waiting_for_editor``); ``fetch_review_result`` downloads the result
    later.

    Attributes:
        message: what the job's history says (plain words).
    """

    message: str = ""


@dataclass(frozen=True)
class Failure:
    """Outcome: the vendor answered, but the job cannot succeed (e.g. an asynchronous job the
    vendor reports as failed, or one that never finished). The job fails with this code and
    message. Vendor *errors* (HTTP errors, timeouts) need no outcome: ``ctx.call`` handles them.

    Attributes:
        code: a short ``ImageJob.error_code`` (``"timeout"``, ``"vendor_failed"``...).
        message: plain words for ``ImageJob.error_message`` (translatable).
    """

    code: str
    message: Any


#: What ``start`` and ``poll`` return.
Outcome = Result | PollLater | StartAgain | WaitForEditor | Failure


# -- what the steps get ----------------------------------------------------------------------


class VendorContext(abc.ABC):
    """What a provider step gets to reach its vendor (``jobs`` implements it).

    Attributes:
        provider: the provider the step belongs to.
        settings: the vendor's settings, ``providers.vendor_settings(provider.vendor)``
            (``default_settings`` merged under ``IMAGEOPS["VENDORS"][vendor]``).
    """

    provider: Provider
    settings: Mapping[str, Any]

    @abc.abstractmethod
    def call(
        self,
        fn: Callable[[Any], VendorResult],
        *,
        resource: str | None = None,
        paid: bool = False,
    ):
        """Run ``fn(client)`` as one vendor call and return its ``VendorResult``.

        The call goes through the client-side rate limiter (``ratelimit.reserve`` per vendor
        and credential; ``resource``: the vendor id the call is about, for per-resource
        spacing such as PiktID's polls), and a vendor's ``Retry-After`` makes every worker
        wait it out.

        ``paid=True`` marks the call that costs the job's credits (one per job: Clipdrop's
        uncrop, PiktID's generate, PixLab's crop, ClippingMagic's Auto-Clip upload): its cost
        is the result's ``credits_consumed`` when the vendor says, else ``price(params,
        settings)``, recorded as estimated; it settles the job's budget reservation.

        During a job's run (``start``, ``poll``): counts an attempt (``start`` only), records
        the call in the job's history and the credits the result reports. When the call cannot
        be made now or fails, the job is rescheduled (a retry when starting, another poll when
        polling) or failed, and the step ends there: a private exception the runner catches
        (it derives from ``BaseException``; let it through).

        Outside a run (``fetch_review_result``, ``balance``, ``delete_vendor_copy``, made
        while a person waits): a wait from the limiter raises ``vendors.RateLimited``, vendor
        errors propagate, and nothing is recorded (report credits with ``charge``).
        """

    @abc.abstractmethod
    def client(self):
        """The vendor client ``call`` hands to ``fn`` (``provider.build_client(ctx)``, built
        once per context), for a best-effort call whose failure does not matter (e.g. deleting
        a vendor notification). Not rate limited."""

    @abc.abstractmethod
    def load_tokens(self) -> dict | None:
        """The API tokens stored for this vendor account (``VendorToken``), or None."""

    @abc.abstractmethod
    def store_tokens(self, pair: dict) -> None:
        """Persist a new token pair for this vendor account (replacing the old one at once)."""

    def tokens_lock(self) -> AbstractContextManager:
        """A context manager held while this vendor account's tokens are renewed, so that one
        worker at a time (thread, process or machine) renews them and the others take the pair
        it stored (``load_tokens`` inside the lock). Default: no lock; ``jobs`` holds
        ``ratelimit.exclusive`` on the shared cache."""
        return nullcontext()


class JobContext(VendorContext):
    """A ``VendorContext`` on one job: its data, read only, and the writes a provider may ask
    for. ``jobs`` implements it; the provider never sees the ``ImageJob``."""

    @property
    @abc.abstractmethod
    def params(self) -> Mapping[str, Any]:
        """The job's cleaned parameters (``ImageJob.params``)."""

    @property
    @abc.abstractmethod
    def vendor_image_id(self) -> str:
        """The vendor's id of the job's image ("" until stored with ``save_vendor_refs``)."""

    @property
    @abc.abstractmethod
    def vendor_secret(self) -> str:
        """The vendor's secret of the job's image ("" until stored with ``save_vendor_refs``)."""

    @property
    @abc.abstractmethod
    def vendor_result_revision(self) -> int:
        """The revision of the stored result (0: none)."""

    @property
    @abc.abstractmethod
    def vendor_state(self) -> Mapping[str, Any]:
        """The provider's own state between steps (a copy; ``save_vendor_refs`` or
        ``PollLater.state`` change it)."""

    @abc.abstractmethod
    def note(self, message: str, **data: Any) -> None:
        """Record a line in the job's history (with JSON-safe ``data``)."""

    @abc.abstractmethod
    def save_vendor_refs(
        self,
        *,
        image_id: str | None = None,
        secret: str | None = None,
        state: Mapping[str, Any] | None = None,
    ) -> None:
        """Store the vendor's references now (one UPDATE), so that a job stopped half-way
        resumes from them: ``image_id``/``secret`` replace the job's, ``state`` keys are merged
        into its ``vendor_state``."""

    @abc.abstractmethod
    def claim_flag(self, key: str) -> bool:
        """Set ``vendor_state[key] = True`` with one conditional UPDATE. True only for the one
        caller that set it (e.g. "this image's first download was paid for": two workers
        fetching the same result at once record its credit once)."""

    @abc.abstractmethod
    def charge(self, credits: Decimal | int, *, estimated: bool = False) -> None:
        """Record ``credits`` spent by this job that no call result reported (e.g. a download
        the vendor charges for without saying so; ``estimated``: the vendor's price, not its
        own figure); the vendor's last known balance and budgets follow."""

    @abc.abstractmethod
    def refresh(self) -> None:
        """Read the job's vendor references again (another worker may have stored a newer
        result meanwhile)."""


# -- the provider ----------------------------------------------------------------------------

_threads = threading.local()


class Provider:
    """One operation on one vendor. Subclass it, set the class attributes, implement ``start``
    (and ``poll`` when ``is_async``), and register the class in ``IMAGEOPS["PROVIDERS"]``.

    Instances hold no job state: the registry keeps one per (operation, name).
    """

    #: The value stored in ``ImageJob.provider`` (e.g. ``"clipdrop"``). One name may serve
    #: several operations (Clipdrop runs uncrop and reimagine); (operation, name) is unique.
    name: str = ""
    #: The key of the vendor's settings in ``IMAGEOPS["VENDORS"]``, of its rate limits and of
    #: its credit balance (``VendorCredits.vendor``). Defaults to ``name``.
    vendor: str = ""
    #: The vendor's display name (translatable), shown wherever a provider is chosen.
    label: Any = ""
    #: The operation it runs: a key of ``operations.OPERATIONS`` (``"uncrop"``, ...).
    operation: str = ""
    #: The vendor client class (``vendors/``). ``build_client`` passes it the ``credentials``
    #: settings positionally, then ``base_url``, ``session`` and ``timeout``.
    client_class: type | None = None
    #: Names of the vendor settings that hold credentials (``("API_KEY",)``): check E001
    #: reports a missing one, and they never leave the server.
    credentials: tuple[str, ...] = ()
    #: The credential setting rate limits are kept per (the account); default: the first of
    #: ``credentials``.
    account_setting: str = ""
    #: Names of the vendor settings whose values are secret (API keys, passwords): replaced by
    #: ``[redacted]`` wherever a vendor's answer echoes them (``redaction``). None: all of
    #: ``credentials`` (leave out public ones, such as an API Id a browser gets anyway).
    secret_settings: tuple[str, ...] | None = None
    #: The vendor's settings defaults, merged under ``IMAGEOPS["VENDORS"][vendor]`` (like a
    #: django-storages backend's): ``BASE_URL`` is the real vendor URL, the credentials are
    #: empty, limits such as ``REQUESTS_PER_MINUTE``/``CONCURRENCY`` are the vendor's, and
    #: ``READ_TIMEOUT`` (seconds) outlasts the vendor's slowest operation: a call given up too
    #: early may still be carried out, and charged, by the vendor.
    default_settings: Mapping[str, Any] = {}
    #: Top-level ``IMAGEOPS`` keys this provider reads, with their defaults (e.g.
    #: ``{"TEST_MODE": False}``). Read with ``option(name)``.
    option_defaults: Mapping[str, Any] = {}
    #: Allowed values of the choice options among ``option_defaults``: check E005 reports
    #: anything else.
    option_choices: Mapping[str, tuple] = {}

    #: Credits one job costs (its one paid call) when the site sets no ``PRICE`` for the
    #: vendor; used where the vendor does not report a call's cost, and for estimates.
    default_price: Decimal = Decimal(1)

    #: Seconds without progress after which a job of this provider left ``running`` by a
    #: worker that died is requeued (``jobs.requeue_stale``, ``imageops_run --due --stale``),
    #: when shorter than the caller's threshold; ``None``: the caller's (default 1800 s). Set
    #: it below any vendor-side lifetime a resumed job depends on (PiktID: the notification
    #: holding a paid result vanishes about 600 s after the generate), and above the longest a
    #: live run goes without writing to the job (its slowest call: connect plus
    #: ``READ_TIMEOUT``), or a live job would be run twice.
    stale_after: float | None = None

    #: Pillow format names the vendor accepts as they are; other images are re-encoded.
    formats: frozenset[str] = frozenset({"JPEG", "PNG"})
    #: Images over this many pixels are shrunk to fit (None: no limit).
    max_pixels: int | None = None
    #: Images whose longer side is over this many pixels are shrunk to fit (None: no limit).
    max_side: int | None = None
    #: Images whose shorter side is under this many pixels are enlarged to fit (None: no limit).
    min_side: int | None = None
    #: Uploads over this many bytes are shrunk until they fit (None: no limit).
    max_bytes: int | None = None

    #: The provider declares a ``seed`` parameter: the same seed and image give the same
    #: bytes, so a seeded job's result may be reused (``is_deterministic``).
    supports_seed: bool = False
    #: ``start`` may return ``PollLater``: the vendor works asynchronously and ``poll(ctx)``
    #: is implemented (each poll is a scheduled run of the job; ``poll_interval`` seconds
    #: apart).
    is_async: bool = False
    #: A person may finish a job in the vendor's editor: jobs whose params match
    #: ``review_params`` end ``start`` with ``WaitForEditor``; ``fetch_review_result(ctx)`` is
    #: implemented, and ``editor_view`` names the page that embeds the editor. The admin offers
    #: "open in the editor" and "fetch editor results" for these jobs.
    supports_review: bool = False
    #: The vendor has an account endpoint telling the remaining credits: ``balance(ctx)`` is
    #: implemented (``jobs.refresh_credits``; the admin's "Refresh balance").
    supports_balance: bool = False
    #: The vendor's answers to paid calls carry the account's remaining credits
    #: (``VendorResult.credits_remaining``, e.g. Clipdrop's ``x-remaining-credits``). With
    #: ``supports_balance``, this makes the vendor's balance reconcilable (``tracks_balance``).
    reports_balance: bool = False
    #: The vendor keeps a copy of the image that can be deleted: ``delete_vendor_copy(ctx)`` is
    #: implemented (``jobs.delete_vendor_copy``; the admin's "delete the vendor-side copy").
    supports_vendor_copy_delete: bool = False

    #: With ``supports_review``: the params that make a job a review job (e.g.
    #: ``{"mode": "review"}``); also usable as a queryset filter on ``ImageJob.params``.
    review_params: Mapping[str, Any] = {}
    #: With ``supports_review``: the URL name of the editor page, reversed with the job's
    #: UUID (e.g. ``"django_imageops:clippingmagic-editor"``).
    editor_view: str = ""

    @property
    def tracks_balance(self) -> bool:
        """The vendor tells its balance (``reports_balance`` or ``supports_balance``): the jobs
        count its paid calls under way and reconcile the balance with the credits recorded."""
        return self.reports_balance or self.supports_balance

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.vendor:
            cls.vendor = cls.name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.operation} on {self.name}>"

    # -- declarations ------------------------------------------------------------------------

    @property
    def operation_spec(self) -> Operation:
        """The ``operations.Operation`` this provider runs."""
        return OPERATIONS[self.operation]

    def option(self, name: str) -> Any:
        """A top-level ``IMAGEOPS`` setting this provider reads: the site's value, else its
        entry in ``option_defaults``."""
        return get_settings().get(name, self.option_defaults[name])

    def params(self) -> tuple[Param, ...]:
        """The parameters this provider takes: its operation's, narrowed or extended (override
        it; ``operations.replace_params`` narrows)."""
        return self.operation_spec.params

    def account(self, settings: Mapping[str, Any]) -> str:
        """The account rate limits and stored tokens are kept per: the ``account_setting``
        (else the first credential) of the vendor's ``settings``."""
        name = self.account_setting or (self.credentials[0] if self.credentials else "")
        return str(settings.get(name) or "") if name else ""

    def secrets(self, settings: Mapping[str, Any]) -> list[str]:
        """The values of the ``secret_settings`` (default: ``credentials``) in the vendor's
        ``settings`` that are set: what must never be stored or shown."""
        names = self.credentials if self.secret_settings is None else self.secret_settings
        return [str(settings[name]) for name in names if settings.get(name)]

    # -- validating and fitting (no vendor call) ----------------------------------------------

    def clean_params(self, params: dict | None) -> dict:
        """Validate and normalise ``params`` (from a form, the API, a command or code).

        Returns:
            The cleaned parameters (JSON-serialisable): every declared one with a value.

        A key whose value is ``None`` or ``""`` means "not given" (a form's empty field, a
        client's ``null``): the parameter's default when this provider declares it, nothing
        when it does not.

        Raises:
            ValidationError: keyed by parameter name (``{"left": [...]}``), including a key
                this provider does not take ("Not a parameter of uncrop on piktid.").
        """
        params = dict(params or {})
        declared = self.params()
        cleaned, errors = clean_declared(declared, params)
        names = {param.name for param in declared}
        for key, value in params.items():
            if key not in names and not is_empty(value):
                errors[key] = [
                    _("Not a parameter of %(operation)s on %(provider)s.")
                    % {"operation": self.operation, "provider": self.name}
                ]
        if not errors:
            errors = self.operation_spec.validate(cleaned)
        if errors:
            raise ValidationError(errors)
        return cleaned

    def fit_scale(self, info: ImageInfo) -> float:
        """The resize factor that fits ``info`` to ``max_pixels``/``max_side`` (shrinking) or
        ``min_side`` (enlarging); 1.0 when it fits already."""
        small, large = min(info.width, info.height), max(info.width, info.height)
        shrink = 1.0
        if self.max_pixels and info.pixels > self.max_pixels:
            shrink = math.sqrt(self.max_pixels / info.pixels) * 0.999
        if self.max_side and large > self.max_side:
            shrink = min(shrink, self.max_side / large)
        if shrink < 1.0:
            return shrink
        if self.min_side and small < self.min_side:
            return self.min_side / small
        return 1.0

    def check_image(self, params: dict, info: ImageInfo) -> None:
        """Refuse what the vendor would refuse for this image (before anything is paid for):
        an image that no resize fits into ``min_side``..``max_side``, then the operation's own
        rules at the fitted scale (e.g. offsets cropping everything away).

        Raises:
            ValidationError: keyed by ``"image"`` or the parameter at fault.
        """
        if self.min_side and self.max_side:
            small, large = min(info.width, info.height), max(info.width, info.height)
            if large * self.min_side / small > self.max_side:
                raise ValidationError(
                    {
                        "image": _(
                            "A %(width)sx%(height)s image cannot be fitted to %(provider)s's "
                            "%(min)s..%(max)s pixel sides."
                        )
                        % {
                            "width": info.width,
                            "height": info.height,
                            "provider": self.label,
                            "min": self.min_side,
                            "max": self.max_side,
                        }
                    }
                )
        self.operation_spec.check_image(params, info, self.fit_scale(info))

    def prepare(
        self, params: dict, data: bytes, filename: str = "", *, verified: bool = False
    ) -> Prepared:
        """Check ``data`` (``check_image``) and fit it to the vendor's formats and limits,
        scaling the pixel parameters by the same factor; notes say what changed.

        ``verified=True``: the bytes were fully checked before (only the header is read).

        Raises:
            ValidationError: the image is unusable or cannot be fitted (nothing is sent).
        """
        info = inspect_image(data, verify=not verified)
        self.check_image(params, info)
        upload, width, height, scale = fit_image(
            data,
            info,
            self.formats,
            scale=self.fit_scale(info),
            filename=filename,
            max_bytes=self.max_bytes,
            label=self.label,
        )
        operation = self.operation_spec
        notes = []
        if scale != 1.0:
            scaled = any(p.scales and p.name in params for p in operation.params)
            notes.append(
                f"resized from {info.width}x{info.height} to {width}x{height} (x{scale:.3f}) "
                f"to fit {self.label}'s limits" + (f"; {operation.scaled_note}" if scaled else "")
            )
        if info.frames > 1:
            notes.append(f"animated image ({info.frames} frames): the first frame was sent")
        return Prepared(upload, operation.scale_params(params, scale), width, height, scale, notes)

    def price(self, params: Mapping[str, Any], settings: Mapping[str, Any]) -> Decimal:
        """Credits one job with ``params`` is expected to cost (before it runs, and as the
        recorded cost when the vendor does not report one).

        ``settings`` are the vendor's (``providers.vendor_settings(vendor)``); their ``PRICE``
        is a number of credits for every operation of the vendor, or ``{operation: credits}``
        (operations it leaves out keep ``default_price``). Override it for params that change
        the price (e.g. a free test mode).

        Raises:
            ValueError: a ``PRICE`` that is not a number of credits (check E008 reports it).
        """
        return parse_price(settings.get("PRICE"), self.operation, self.default_price)

    def is_deterministic(self, params: dict) -> bool:
        """Whether the same image and ``params`` give the same bytes again (then an identical
        succeeded job's result is reused, at no cost). Default: a seeded job of a provider
        that ``supports_seed``."""
        return self.supports_seed and params.get("seed") is not None

    def describe_progress(self, state: Mapping[str, Any], *, now: float | None = None) -> str:
        """Where a running job of this provider stands, in plain words for a person (the
        admin's job page and field widgets show them), from the job's ``vendor_state``;
        ``now`` is ``time.time()`` (seconds), for durations. "" when there is nothing to say
        beyond the job's status (the default). Asynchronous providers say what they wait for,
        e.g. "waiting for PiktID: poll 5, 15 s": the words are the provider's, the admin names
        no vendor."""
        return ""

    def is_review(self, params: Mapping[str, Any]) -> bool:
        """Whether a job with ``params`` is finished by a person in the vendor's editor."""
        return bool(
            self.supports_review
            and self.review_params
            and all(params.get(k) == v for k, v in self.review_params.items())
        )

    # -- the vendor calls ----------------------------------------------------------------------

    def build_client(self, ctx: VendorContext):
        """The vendor client, from ``ctx.settings``: ``client_class(*credentials, base_url=,
        session=, timeout=)``, kept per thread and configuration (its connections are reused;
        one ``requests.Session`` per thread and vendor).

        Raises:
            ImproperlyConfigured: the provider has no ``client_class`` (and does not override
                this method).
        """
        client_class = self.client_class
        if client_class is None:
            raise ImproperlyConfigured(
                f"{type(self).__name__} has no client_class: set it, or override build_client()"
            )
        options = self.client_options(ctx)
        key = (
            client_class,
            self.vendor,
            repr(sorted(ctx.settings.items())),
            repr(options.get("timeout")),
        )
        clients = getattr(_threads, "clients", None)
        if clients is None:
            clients = _threads.clients = {}
        if key not in clients:
            clients[key] = client_class(
                *(ctx.settings[name] for name in self.credentials), **options
            )
        return clients[key]

    def client_options(self, ctx: VendorContext) -> dict[str, Any]:
        """``base_url`` (``settings["BASE_URL"]``), ``session`` (one per thread and vendor) and
        ``timeout``: ``(connect, read)`` seconds, the connect part from ``IMAGEOPS["TIMEOUT"]``
        and the read part from the vendor's ``READ_TIMEOUT`` (the provider's default, sized to
        the vendor's slowest operation; else ``TIMEOUT``'s own)."""
        options: dict[str, Any] = {"base_url": ctx.settings["BASE_URL"], "session": _session(self)}
        timeout = get_setting("TIMEOUT")
        read = ctx.settings.get("READ_TIMEOUT")
        if read is not None:
            connect = timeout[0] if isinstance(timeout, (tuple, list)) else timeout
            timeout = (float(connect or read), float(read))
        if timeout:
            options["timeout"] = tuple(timeout) if isinstance(timeout, list) else timeout
        return options

    def start(self, ctx: JobContext, prepared: Prepared) -> Outcome:
        """Send ``prepared`` to the vendor (through ``ctx.call``) and return the outcome."""
        raise NotImplementedError(f"{type(self).__name__} must implement start()")

    def poll(self, ctx: JobContext) -> Outcome:
        """With ``is_async``: ask the vendor how the job stands (``ctx.vendor_state`` holds
        what ``PollLater.state`` left) and return the outcome. A job that failed or was
        canceled while polling and is retried runs ``start`` again, not ``poll``: ``start``
        decides from ``ctx.vendor_state`` whether to resume."""
        raise NotImplementedError(f"{type(self).__name__} is not asynchronous")

    def poll_interval(self, ctx: VendorContext) -> float:
        """With ``is_async``: seconds between polls (default: the vendor's ``POLL_INTERVAL``
        setting, else 5)."""
        return float(ctx.settings.get("POLL_INTERVAL", 5.0))

    def fetch_review_result(self, ctx: JobContext) -> Result | None:
        """With ``supports_review``: the result a person saved in the editor when it is newer
        than ``ctx.vendor_result_revision`` (a ``Result`` with its ``revision``), else None."""
        raise NotImplementedError(f"{type(self).__name__} does not support review")

    def balance(self, ctx: VendorContext) -> tuple[Decimal | None, dict]:
        """With ``supports_balance``: ``(credits remaining, details)`` from the vendor's
        account endpoint."""
        raise NotImplementedError(f"{type(self).__name__} has no account endpoint")

    def delete_vendor_copy(self, ctx: JobContext) -> bool:
        """With ``supports_vendor_copy_delete``: delete the vendor's copy of the job's image.
        True when deleted, False when the vendor no longer had it."""
        raise NotImplementedError(f"{type(self).__name__} cannot delete a vendor-side copy")


def parse_price(value: Any, operation: str, default: Decimal) -> Decimal:
    """Credits per job from a ``PRICE`` setting: a number (int, float, str, Decimal), a dict
    ``{operation: number}`` (``default`` for operations it leaves out), or None (``default``).

    Raises:
        ValueError: not a number, or a negative one.
    """
    if isinstance(value, Mapping):
        value = value.get(operation)
    if value is None:
        return Decimal(default)
    return parse_credits(value, "PRICE")


def _session(provider: Provider) -> requests.Session:
    sessions = getattr(_threads, "sessions", None)
    if sessions is None:
        sessions = _threads.sessions = {}
    if provider.vendor not in sessions:
        sessions[provider.vendor] = requests.Session()
    return sessions[provider.vendor]
