"""ClippingMagic: ``remove_background`` by Auto-Clip, or by a person in ClippingMagic's editor.

- Auto-Clip: ``POST /api/v1/images`` with ``format=result`` returns the cut-out (and the image's
  id and secret, kept so that a person may edit it later at no extra cost).
- Review (``mode="review"``): the upload (``format=json``, free) returns the image's id and
  secret; the job waits for a person in ClippingMagic.js (``views.clippingmagic_editor``), and
  ``fetch_review_result`` downloads each newer ``resultRevision``.
- Credits: a production result costs one credit on its first download only (``test=true``
  results are free and watermarked); the vendor does not say which download was the first, so
  the job's ``vendor_state`` remembers it. The account endpoint tells the balance.

Images are pre-shrunk to at most 4,194,404 pixels, as ClippingMagic asks (it accepts up to
16,777,216 and shrinks them itself).
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from ..operations import BOOL, CHOICE, Param
from ..vendors import NotFound
from ..vendors.clippingmagic import ClippingMagicClient
from .base import Provider, Result, WaitForEditor

#: The largest image ClippingMagic accepts, and the size it works on (pixels).
MAX_PIXELS = 16_777_216
TARGET_PIXELS = 4_194_404
#: ``vendor_state`` key set once a production result of the image was paid for (its first
#: download; later downloads and revisions of the same image are free).
CHARGED = "result_charged"


def _int(value, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


class ClippingMagicRemoveBackground(Provider):
    """``remove_background`` on ClippingMagic, with ``mode`` (``auto`` or ``review``) and
    ``test`` (default: ``IMAGEOPS["TEST_MODE"]``)."""

    name = "clippingmagic"
    label = _("ClippingMagic")
    operation = "remove_background"
    client_class = ClippingMagicClient
    credentials = ("API_ID", "API_KEY")
    # The API Id is public (ClippingMagic.js gets it): only the key is secret.
    secret_settings = ("API_KEY",)
    account_setting = "API_KEY"
    default_settings = {
        "API_ID": "",
        "API_KEY": "",
        "BASE_URL": "https://clippingmagic.com",
        "JS_URL": "https://clippingmagic.com/api/v1/ClippingMagic.js",
        "CONCURRENCY": 5,
        # Seconds to wait for an answer: an Auto-Clip upload (``format=result``) of up to
        # 16,777,216 pixels is clipped before the answer (the docs give no duration).
        "READ_TIMEOUT": 180.0,
    }
    option_defaults = {"TEST_MODE": False}
    formats = frozenset({"JPEG", "PNG", "GIF", "BMP", "TIFF"})
    max_pixels = TARGET_PIXELS

    supports_review = True
    supports_balance = True
    supports_vendor_copy_delete = True
    review_params = {"mode": "review"}
    editor_view = "django_imageops:clippingmagic-editor"

    def params(self):
        """``mode`` (Auto-Clip or review in the editor) and ``test`` (free, watermarked)."""
        return (
            *super().params(),
            Param(
                "mode",
                CHOICE,
                _("Mode"),
                choices=(
                    ("auto", _("Auto-Clip: store the automatic result")),
                    ("review", _("Human review: open each image in the ClippingMagic editor")),
                ),
                default="auto",
            ),
            Param(
                "test",
                BOOL,
                _("Test mode"),
                _("Free, watermarked results (ClippingMagic test mode)."),
                default=self._test_mode,
            ),
        )

    def _test_mode(self) -> bool:
        return bool(self.option("TEST_MODE"))

    def price(self, params, settings):
        """Test results are free; a production result costs its first download (one credit
        by default, ``PRICE`` to change it), Auto-Clip or a person's review alike."""
        if params.get("test", self._test_mode()):
            return Decimal(0)
        return super().price(params, settings)

    def is_deterministic(self, params):
        """Auto-Clip results may be reused; a person's review may not."""
        return params.get("mode") == "auto"

    def start(self, ctx, prepared):
        """``POST /api/v1/images``: ``format=result`` (the Auto-Clip bytes; id and secret in
        headers) for auto, the Image JSON object (id and secret) for review."""
        review = self.is_review(prepared.params)
        result = ctx.call(
            lambda client: client.upload(
                prepared.upload,
                test=bool(prepared.params.get("test")),
                format="json" if review else "result",
            ),
            # The Auto-Clip result's first download is paid; a review upload is free.
            paid=not review,
        )
        ctx.save_vendor_refs(
            image_id=str(result.vendor_ids.get("id", "")),
            secret=str(result.vendor_ids.get("secret", "")),
            # Auto-Clip paid for this image's first download: editing it later is free.
            state={CHARGED: True} if result.credits_consumed else None,
        )
        if review:
            return WaitForEditor(
                "uploaded to ClippingMagic; waiting for a person to review the cut-out"
            )
        revision = _int(result.vendor_ids.get("result_revision"), 1)
        return Result(result.content, result.content_type, revision=revision)

    def fetch_review_result(self, ctx):
        """``GET /api/v1/images/{id}?format=json`` (free); when its ``resultRevision`` is newer
        than the stored one, ``GET /api/v1/images/{id}`` (one credit for a production image's
        first download, recorded once)."""
        image_id = ctx.vendor_image_id
        info = ctx.call(lambda client: client.get(image_id))
        image = info.data.get("image", info.data)
        revision = _int(info.vendor_ids.get("result_revision"), 0)
        if not revision:
            revision = _int(image.get("resultRevision") if isinstance(image, dict) else 0)
        test_image = bool(
            image["test"] if isinstance(image, dict) and "test" in image else ctx.params.get("test")
        )
        ctx.refresh()
        if revision <= ctx.vendor_result_revision:
            return None
        result = ctx.call(lambda client: client.download(image_id))
        # Only the first download of a production image costs a credit (the client cannot tell
        # which download is the first): one credit unless this image was paid for already.
        charged = Decimal(1 if not test_image and ctx.claim_flag(CHARGED) else 0)
        ctx.charge(charged)
        revision = max(revision, _int(result.vendor_ids.get("result_revision"), revision))
        ctx.note(
            f"downloaded ClippingMagic result revision {revision}",
            revision=revision,
            credits_consumed=str(charged),
        )
        return Result(result.content, result.content_type, revision=revision)

    def balance(self, ctx):
        """``GET /api/v1/account`` (free): the credits left and the subscription."""
        result = ctx.call(lambda client: client.account())
        return result.credits_remaining, dict(result.data)

    def delete_vendor_copy(self, ctx):
        """``POST /api/v1/images/{id}/delete``; an image ClippingMagic no longer has counts as
        deleted already (False)."""
        image_id = ctx.vendor_image_id
        try:
            ctx.call(lambda client: client.delete(image_id))
        except NotFound:
            return False
        return True
