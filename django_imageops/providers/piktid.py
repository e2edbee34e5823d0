"""PiktID Magic Expand: ``uncrop``, asynchronously.

Flow (``shared/vendor-docs/piktid-magic-expand.txt``): upload the image
(``POST /expand/target``), start the expansion (``POST /edit/generate``), then poll its
notifications (``POST /notification_by_name_json``) no faster than every 3 s, each poll a
scheduled run of the job (``PollLater``), never a sleep; download the result link and delete the
notification. A job stopped half-way resumes from its stored image id (no second upload, unless
PiktID has deleted it after 24 hours); one that has not delivered after ``TIMEOUT`` seconds
(600: notifications vanish) fails clearly, and a retry generates again. A generate is recorded
before it is sent: a job whose run died before storing the answer (a killed worker) polls for
that generation's result, until ``TIMEOUT`` seconds after the request, before paying for
another.

Images must have sides of 64..4096 pixels, in and out: they are fitted (offsets scaled to match)
unless ``IMAGEOPS["PIKTID_OUT_OF_RANGE"]`` is ``"refuse"``. The access/refresh token pair is kept
in ``VendorToken`` (PiktID revokes everything when a refresh token is reused, so each new pair
is stored at once, and one worker at a time renews it: the others take the pair it stored).
PiktID does not tell API clients what a call cost: its jobs record the vendor's ``PRICE``
(default 1 credit per generate), marked as estimated.
"""

from __future__ import annotations

import logging
import time

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ..operations import Uncrop
from ..vendors import VendorError
from ..vendors.piktid import PiktidClient
from .base import Failure, PollLater, Provider, Result, StartAgain

logger = logging.getLogger(__name__)

#: Smallest and largest side PiktID takes and makes (pixels).
MIN_SIDE = 64
MAX_SIDE = 4096
#: PiktID asks for polls no faster than this (seconds).
MIN_POLL_INTERVAL = 3.0
#: PiktID deletes an uploaded image after 24 hours: one uploaded longer ago than this many
#: seconds is uploaded again before generating.
UPLOAD_LIFETIME = 23 * 3600.0
#: Error statuses after which a generate may still have been carried out (a gateway's).
AMBIGUOUS_STATUSES = frozenset({502, 504})

# ``vendor_state["step"]``: where a job stands. ``generated_at`` (seconds since the epoch) is
# set from the moment a generate is requested ("requested") until its result, failure or
# timeout.
UPLOADED, REQUESTED, GENERATING = "uploaded", "requested", "generating"
RECOVERING, DOWNLOADED, FAILED, TIMED_OUT = "recovering", "downloaded", "failed", "timed_out"


class PiktidUncrop(Provider):
    """``uncrop`` on PiktID Magic Expand (asynchronous: upload, generate, then polls)."""

    name = "piktid"
    label = _("PiktID")
    operation = "uncrop"
    client_class = PiktidClient
    credentials = ("EMAIL", "PASSWORD")
    # The e-mail names the account (shown with its stored tokens): the password is secret.
    secret_settings = ("PASSWORD",)
    default_settings = {
        "EMAIL": "",
        "PASSWORD": "",
        "BASE_URL": "https://api.piktid.com/api",
        # Seconds between polls of one image (the vendor asks for >= 3).
        "POLL_INTERVAL": MIN_POLL_INTERVAL,
        # Seconds after generate before the job fails (notifications vanish after 600 s).
        "TIMEOUT": 600.0,
        # Seconds to wait for one answer: uploads of up to 4096x4096 are the slowest call (the
        # generation itself is asynchronous, polled).
        "READ_TIMEOUT": 60.0,
    }
    # A dead worker's job is requeued after 4 minutes without progress: more than its slowest
    # call (an upload, READ_TIMEOUT 60 s), and early enough (with a `--loop 60` or a cron
    # minute on top) for the resumed job to find the paid result in the notifications,
    # which vanish 600 s after the generate (vendor-docs NOTES.md), instead of paying again.
    stale_after = 240.0
    option_defaults = {"PIKTID_OUT_OF_RANGE": "fit"}
    option_choices = {"PIKTID_OUT_OF_RANGE": ("fit", "refuse")}
    formats = frozenset({"JPEG", "PNG", "WEBP"})
    min_side = MIN_SIDE
    max_side = MAX_SIDE
    is_async = True

    def check_image(self, params, info):
        """Refuse an image outside 64..4096 pixels when ``PIKTID_OUT_OF_RANGE="refuse"`` (or
        one no resize fits), offsets cropping everything, and a result outside 64..4096.

        Raises:
            ValidationError: keyed by ``"image"``, ``"left"`` or ``"top"``.
        """
        scale = self.fit_scale(info)
        if scale != 1.0 and self.option("PIKTID_OUT_OF_RANGE") == "refuse":
            raise ValidationError(
                {
                    "image": _(
                        "PiktID takes images from 64x64 to 4096x4096 pixels; this one is "
                        "%(width)sx%(height)s."
                    )
                    % {"width": info.width, "height": info.height}
                }
            )
        super().check_image(params, info)
        width, height = Uncrop.result_size(params, info, scale)
        if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
            raise ValidationError(
                {
                    "left": _(
                        "The result would be %(w)sx%(h)s pixels; PiktID makes sides of "
                        "%(min)s..%(max)s pixels."
                    )
                    % {"w": width, "h": height, "min": MIN_SIDE, "max": MAX_SIDE}
                }
            )

    def describe_progress(self, state, *, now=None):
        """ "uploaded to PiktID", "waiting for PiktID: poll 5, 15 s" (polls made, seconds since
        the expansion started) or "result downloaded from PiktID, storing it"; "" before the
        upload."""
        step = state.get("step")
        if step == "uploaded":
            return str(_("uploaded to PiktID, starting the expansion"))
        if step == "generating":
            started = float(state.get("generated_at") or 0) or None
            seconds = max(0, round((now or time.time()) - started)) if started else 0
            polls = int(state.get("polls") or 0)
            return str(
                _("waiting for PiktID: poll %(polls)d, %(seconds)d s")
                % {"polls": polls, "seconds": seconds}
            )
        if step == "downloaded":
            return str(_("result downloaded from PiktID, storing it"))
        return ""

    def build_client(self, ctx):
        """A new client each time, from the stored token pair; new pairs are stored at once.
        Renewals hold ``ctx.tokens_lock()`` and first read the stored pair again: a worker whose
        token expired takes the pair another worker has just stored instead of spending the old
        refresh token a second time (which would revoke every token of the account)."""
        settings = ctx.settings
        return self.client_class(
            settings["EMAIL"],
            settings["PASSWORD"],
            tokens=ctx.load_tokens(),
            on_tokens=ctx.store_tokens,
            load_tokens=ctx.load_tokens,
            tokens_lock=ctx.tokens_lock,
            **self.client_options(ctx),
        )

    def poll_interval(self, ctx):
        """``POLL_INTERVAL`` seconds, at least 3."""
        return max(MIN_POLL_INTERVAL, float(ctx.settings.get("POLL_INTERVAL", MIN_POLL_INTERVAL)))

    def start(self, ctx, prepared):
        """``POST /expand/target`` (unless the image was uploaded less than a day ago), then
        generate. A job whose earlier run asked for a generation without storing the answer (a
        worker killed, an answer lost) first polls for that generation's result (``poll``)."""
        state = ctx.vendor_state
        if not ctx.vendor_image_id or _upload_expired(state):
            result = ctx.call(lambda client: client.upload_target(prepared.upload))
            offsets = {side: prepared.params[side] for side in Uncrop.SIDES}
            ctx.save_vendor_refs(
                image_id=str(result.vendor_ids["image_id"]),
                state={
                    "step": UPLOADED,
                    "offsets": offsets,
                    "uploaded_at": time.time(),
                    "generated_at": None,
                },
            )
        elif state.get("generated_at") and state.get("step") in (REQUESTED, GENERATING):
            ctx.note(
                "a generate was requested before without its answer being stored: looking for "
                "its result before generating again",
                requested_at=state["generated_at"],
            )
            return PollLater(self.poll_interval(ctx), {"step": RECOVERING, "polls": 0})
        return self.generate(ctx)

    def generate(self, ctx):
        """``POST /edit/generate`` with the (scaled) offsets; the first poll comes later.

        The request is recorded (``step`` "requested", ``generated_at``) just before it is
        sent (not when the rate limiter defers it: then nothing was asked), so that a run that
        dies before storing the answer is resumed by looking for the result rather than by
        paying for a second generation; an answer that says PiktID did not take the request
        (an error other than a gateway's 502/504) clears the mark."""
        sides = Uncrop.SIDES
        offsets = ctx.vendor_state.get("offsets") or {side: ctx.params[side] for side in sides}
        image_id = ctx.vendor_image_id
        requested_at = time.time()

        def send(client):
            """Mark the request, then ``POST /edit/generate`` (``generate_expand``); a
            ``VendorError`` with a status other than 502/504 clears the mark, and is re-raised."""
            ctx.save_vendor_refs(state={"step": REQUESTED, "generated_at": requested_at})
            try:
                return client.generate_expand(image_id, **offsets)
            except VendorError as exc:
                if exc.status_code is not None and exc.status_code not in AMBIGUOUS_STATUSES:
                    ctx.save_vendor_refs(state={"step": UPLOADED, "generated_at": None})
                raise

        ctx.call(send, paid=True)
        return PollLater(
            self.poll_interval(ctx),
            {"step": GENERATING, "generated_at": requested_at, "polls": 0},
        )

    def poll(self, ctx):
        """``POST /notification_by_name_json`` for the image, ``POLL_INTERVAL`` seconds after
        the previous poll was sent (polls of one image are spaced by the limiter too); on a
        result, download its link and delete the notification.

        ``TIMEOUT`` seconds after the generate was requested without a result: a confirmed
        generation fails the job (``timeout``; a retry generates again), an unconfirmed one
        (``step`` "recovering") is taken as never made: ``StartAgain`` generates again."""
        state = dict(ctx.vendor_state)
        image_id = ctx.vendor_image_id
        asked_at = time.monotonic()
        answer = ctx.call(lambda client: client.poll(image_id), resource=image_id)
        state["polls"] = int(state.get("polls", 0)) + 1
        data = dict(answer.data)
        if data.get("state") == "succeeded":
            result = ctx.call(lambda client: client.download(data["link"]))
            if state.get("step") == RECOVERING:
                # The generate of a run that died was paid for, and recorded by nobody.
                ctx.charge(self.price(ctx.params, ctx.settings), estimated=True)
            self._delete_notification(ctx, data)
            ctx.save_vendor_refs(state={**state, "step": DOWNLOADED})
            return Result(result.content, result.content_type)
        if data.get("state") == "failed":
            self._delete_notification(ctx, data)
            ctx.save_vendor_refs(state={**state, "step": FAILED, "generated_at": None})
            return Failure(
                "vendor_failed",
                _("PiktID could not expand the image: %(error)s")
                % {"error": data.get("error") or "unknown error"},
            )
        timeout = float(ctx.settings.get("TIMEOUT", 600.0))
        if time.time() - float(state.get("generated_at") or 0) > timeout:
            cleared = {"polls": state["polls"], "generated_at": None}
            if state.get("step") == RECOVERING:
                return StartAgain(
                    0,
                    {**cleared, "step": UPLOADED},
                    "no result of the earlier generate request: generating again",
                )
            ctx.save_vendor_refs(state={**cleared, "step": TIMED_OUT})
            return Failure(
                "timeout",
                _("PiktID did not deliver a result within %(seconds)d seconds.")
                % {"seconds": timeout},
            )
        # Every POLL_INTERVAL seconds from one request to the next, as PiktID counts: the time
        # this poll took (the vendor's latency) is part of the interval, not added to it.
        return PollLater(max(self.poll_interval(ctx) - (time.monotonic() - asked_at), 0.0), state)

    @staticmethod
    def _delete_notification(ctx, data):
        """Delete a handled notification (best effort) so that no later poll reads it again."""
        if not data.get("notification_id"):
            return
        try:
            ctx.client().delete_notification(data["notification_id"])
        except VendorError as exc:
            logger.info("PiktID notification %s not deleted: %s", data["notification_id"], exc)


def _upload_expired(state) -> bool:
    """Whether PiktID has probably deleted the uploaded image (it keeps them 24 hours)."""
    uploaded_at = state.get("uploaded_at")
    return bool(uploaded_at) and time.time() - float(uploaded_at) > UPLOAD_LIFETIME
