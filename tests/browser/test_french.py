"""The app in French, in a real browser at a phone's width (390 px): an operation form (the
uncrop action's page, its previews and cost line), a job's page, the vendor credits page and the
ClippingMagic editor page. The browser asks for French (``Accept-Language: fr-FR``, through
Django's ``LocaleMiddleware``); each page must show the French words, none of the catalogue's
English sentences (a string translated at import time, or left out of a template, would show
one), and nothing may stick out sideways.

Everything is real: ``live_server``, Debian Chromium, the vendor sandbox, moto S3; the test
plays the worker (``jobs.run_job``).
"""

# ruff: noqa: RUF001 (French typography)
from __future__ import annotations

import re
from decimal import Decimal

import polib
import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from django_imageops import jobs
from django_imageops.jobs.credits import record_call
from django_imageops.models import ImageJob, VendorCredits
from tests.browser.conftest import fully_visible
from tests.browser.support import close_page, make_photos, open_page, start_action
from tests.browser.test_clippingmagic_editor import EditorPage
from tests.clippingmagic_support import create_review_job, make_photo, make_user
from tests.i18n.catalogues import po_path
from tests.jobs.support import DUMMY_BACKEND, fresh_limits, make_image, photo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 390
LOCALE = "fr-FR"


def english_sentences() -> list[str]:
    """The catalogue's English messages of three words or more, without placeholders, whose
    French differs: none may appear on a page served in French."""
    return [
        e.msgid
        for e in polib.pofile(str(po_path("fr")))
        if not e.msgid_plural
        and "%" not in e.msgid
        and len(e.msgid.split()) >= 3
        and e.msgstr != e.msgid
    ]


def check_french(page, *words: str) -> None:
    """``page`` shows each of ``words``, no English sentence of the catalogue, and is no wider
    than the viewport."""
    page.wait_for_load_state("networkidle")
    text = page.inner_text("body")
    for word in words:
        assert word in text, f"{word!r} not on the page"
    english = [s for s in english_sentences() if s in text]
    assert not english, f"English on a French page: {english}"
    assert page.evaluate("document.documentElement.lang") == "fr"
    scroll, client = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll <= client, f"the page is {scroll} px wide in a {client} px viewport"


def test_operation_form_in_french(chromium_browser, live_server, sandbox, s3, screenshot):
    photos = make_photos(("Chaise", 120, 90, (90, 160, 90)), ("Lampe", 80, 120, (160, 90, 90)))
    context, page = open_page(chromium_browser, live_server, WIDTH, locale=LOCALE)
    try:
        start_action(page, live_server, "/admin/testapp/photo/", photos, "imageops_uncrop")
        page.wait_for_selector("canvas.imageops-uncrop-canvas >> nth=1")
        page.click(".imageops-extend:text('16:9')")
        VendorCredits.objects.create(vendor="clipdrop", remaining=92)
        page.check('input[name="provider"][value="clipdrop"]')
        page.fill('input[name="bottom"]', "1")
        # The cost line comes from the server (ngettext) as the values change.
        cost = page.locator(".imageops-cost")
        cost.filter(has_text="2 tâches · 2 crédits Clipdrop · solde connu 92").wait_for()
        # The previews' sizes and notes come from the page's data-text (gettext).
        page.locator(".imageops-source-size", has_text="px →").first.wait_for()
        check_french(
            page,
            "2 tâches seront mises en file d’attente",
            "Étendre au format",
            "Gauche",
            "Prestataire",
        )
        submit = 'input[name="imageops_submit"]'
        assert page.input_value(submit) == "Mettre 2 tâches en file d’attente"
        assert fully_visible(page, f"{submit}, .imageops-extend, .imageops-cost") == [True] * 9
        screenshot(page, "390px")
        page.click(submit)
        page.get_by_text("2 tâches « Étendre » mises en file d’attente.").wait_for()
        check_french(page, "Suivre le lot")
    finally:
        close_page(context, page)


def test_job_page_in_french(chromium_browser, live_server, sandbox, s3, settings, screenshot):
    fresh_limits(settings)
    settings.TASKS = {"default": {"BACKEND": DUMMY_BACKEND}}  # the test is the worker
    source = photo(make_image(160, 120, color=(40, 120, 200)), name="ciel.png")
    [job] = jobs.create_jobs("uncrop", objects=[source], field="image", params={"left": 40})
    jobs.run_job(job.pk)
    assert ImageJob.objects.get(pk=job.pk).status == ImageJob.Status.SUCCEEDED
    context, page = open_page(chromium_browser, live_server, WIDTH, locale=LOCALE)
    try:
        page.goto(live_server.url + reverse("admin:django_imageops_imagejob_change", args=[job.pk]))
        page.wait_for_selector(".imageops-same-scale[data-scale]")
        check_french(page, "Réussi", "Avant et après", "Paramètres", "Crédits", "Durées")
        assert fully_visible(page, ".imageops-same-scale img") == [True, True]
        assert all(fully_visible(page, ".object-tools .imageops-tool"))
        screenshot(page, "390px")
    finally:
        close_page(context, page)


def test_credits_page_in_french(chromium_browser, live_server, settings, screenshot):
    settings.IMAGEOPS = {
        **settings.IMAGEOPS,
        "VENDORS": {
            **settings.IMAGEOPS["VENDORS"],
            "clipdrop": {
                **settings.IMAGEOPS["VENDORS"]["clipdrop"],
                "DAILY_BUDGET": 500,
                "LOW_BALANCE": 100,
            },
        },
    }
    record_call(None, "clipdrop", remaining=Decimal(92))
    context, page = open_page(chromium_browser, live_server, WIDTH, locale=LOCALE)
    try:
        page.goto(live_server.url + "/admin/django_imageops/imagejob/credits/")
        page.wait_for_selector(".imageops-spend-chart")
        check_french(
            page,
            "Crédits des fournisseurs",
            "Les crédits Clipdrop sont bas : il en reste 92.",
            "Budget quotidien Clipdrop",
            "Les 30 derniers jours",
        )
        # Narrow, each cell is labelled by its column's heading (data-label, shown by the CSS).
        today = page.locator("tr.vendor-clipdrop td.today")
        assert today.get_attribute("data-label") == "Dépensé aujourd’hui"
        screenshot(page, "390px")
    finally:
        close_page(context, page)


def test_clippingmagic_editor_page_in_french(
    live_server, chromium_browser, sandbox, s3, screenshot
):
    job = create_review_job(user=make_user("creator"), photo=make_photo(96, 64))
    root = User.objects.create_superuser("root", "root@example.com", "pw")
    editor = EditorPage(chromium_browser, live_server, root, sandbox, locale=LOCALE, width=WIDTH)
    try:
        page = editor.open(
            live_server.url + reverse("django_imageops:clippingmagic-editor", args=[job.uuid])
        )
        page.wait_for_selector('#imageops-editor[data-state="result-stored"]')
        # ClippingMagic's own editor is asked for French too.
        assert editor.recorded()["edit"]["locale"] == "fr-FR"
        check_french(
            page, "Modifier le détourage", "Le résultat est enregistré.", "Retour à la tâche"
        )
        assert page.locator("#imageops-editor-job-status").inner_text() == "Réussi"
        caption = page.locator("#imageops-editor-result-caption").inner_text()
        assert re.fullmatch(r"\d+ × \d+ px", caption), caption
        assert page.locator("#imageops-editor-open").inner_text() == "Modifier à nouveau"
        assert fully_visible(page, "#imageops-editor-open, #imageops-editor-result-image") == [
            True,
            True,
        ]
        screenshot(page, "390px")
    finally:
        editor.close()
