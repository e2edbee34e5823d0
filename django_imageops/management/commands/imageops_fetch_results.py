"""``manage.py imageops_fetch_results``: download ClippingMagic review results the page missed.

The editor page tells the server when a person saved a result; if that callback never arrived
(closed tab, network), this command finds it: for each ClippingMagic review job that is waiting
for the editor (and, by default, each review job that succeeded in the last 30 days, which may
have been edited again) it asks ClippingMagic for the image's ``resultRevision``
(``GET /api/v1/images/{id}?format=json``, free) through ``jobs.fetch_review_result`` and
downloads a newer result. A newer revision after a second edit becomes the job's new result; the
earlier file stays on storage, linked from the job's history.

Run it from cron every few minutes. Exit status 1 when any job could not be checked.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import ngettext

from django_imageops import jobs
from django_imageops.models import ImageJob
from django_imageops.providers import all_providers
from django_imageops.vendors import VendorError


class Command(BaseCommand):
    """``manage.py imageops_fetch_results``: see the module docstring."""

    help = (
        "Check resultRevision of ClippingMagic review jobs (waiting for the editor, or recently "
        "succeeded) and download newer results."
    )

    def add_arguments(self, parser):
        """``--job UUID`` (repeatable: only those jobs) and ``--succeeded-days`` (also re-check
        review jobs that succeeded this many days back; 0 = waiting jobs only)."""
        parser.add_argument(
            "--job",
            dest="job_uuids",
            action="append",
            default=[],
            metavar="UUID",
            help="Check only this job (repeatable); any ClippingMagic job with an image id.",
        )
        parser.add_argument(
            "--succeeded-days",
            type=float,
            default=30.0,
            metavar="DAYS",
            help=(
                "Also check review jobs that succeeded within this many days, for results saved "
                "again after a second edit (default 30; 0 checks waiting jobs only)."
            ),
        )

    def get_queryset(self, job_uuids: list[str], succeeded_days: float):
        """The jobs to check: jobs with an image id of the providers that support review
        (ClippingMagic's ``remove_background``); without ``--job``, only review jobs
        (``Provider.review_params``) waiting for the editor or recently succeeded."""
        reviewers = [p for p in all_providers() if p.supports_review]
        ours = Q(pk__in=[])
        review = Q(pk__in=[])
        for provider in reviewers:
            job_of = Q(operation=provider.operation, provider=provider.name)
            ours |= job_of
            params = {f"params__{key}": value for key, value in provider.review_params.items()}
            review |= job_of & Q(**params)
        queryset = ImageJob.objects.filter(ours).exclude(vendor_image_id="")
        if job_uuids:
            return queryset.filter(uuid__in=job_uuids).order_by("pk")
        wanted = Q(status=ImageJob.Status.WAITING_FOR_EDITOR)
        if succeeded_days > 0:
            since = timezone.now() - timedelta(days=succeeded_days)
            wanted |= Q(status=ImageJob.Status.SUCCEEDED, updated_at__gte=since)
        return queryset.filter(wanted, review).order_by("pk")

    def handle(self, *args, job_uuids, succeeded_days, verbosity, **options):
        """Check each job with ``jobs.fetch_review_result`` and report new revisions.

        Raises:
            CommandError: when any job could not be checked (a ``VendorError``); exit status 1.
        """
        checked = downloaded = failed = 0
        for job in self.get_queryset(job_uuids, succeeded_days).iterator():
            checked += 1
            revision = job.vendor_result_revision
            try:
                jobs.fetch_review_result(job)
            except VendorError as exc:
                failed += 1
                self.stderr.write(f"{job.uuid}: {exc.__class__.__name__}: {exc}")
                continue
            job.refresh_from_db()
            if job.vendor_result_revision > revision:
                downloaded += 1
                if verbosity >= 1:
                    self.stdout.write(
                        f"{job.uuid}: stored result revision {job.vendor_result_revision} "
                        f"as {job.result.name}"
                    )
            elif verbosity >= 2:
                self.stdout.write(f"{job.uuid}: no new result (revision {revision})")
        if verbosity >= 1:
            self.stdout.write(
                " ".join(
                    (
                        ngettext("Checked %(count)d job:", "Checked %(count)d jobs:", checked)
                        % {"count": checked},
                        ngettext("%(count)d new result,", "%(count)d new results,", downloaded)
                        % {"count": downloaded},
                        ngettext("%(count)d error.", "%(count)d errors.", failed)
                        % {"count": failed},
                    )
                )
            )
        if failed:
            raise CommandError(
                ngettext(
                    "%(count)d job could not be checked.",
                    "%(count)d jobs could not be checked.",
                    failed,
                )
                % {"count": failed}
            )
