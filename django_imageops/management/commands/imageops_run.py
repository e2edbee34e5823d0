"""``manage.py imageops_run``: run image jobs in this process.

- ``imageops_run --due``: every job that is due (pending retries whose time has come, PiktID
  polls that are due, jobs waiting for a budget whose cap was raised: ``jobs.resume_waiting``),
  after requeueing jobs left ``running`` by a worker that died (``--stale SECONDS``, default
  1800, or the provider's shorter ``Provider.stale_after``). Run it every minute from cron, or
  with ``--loop 60`` as a small long-running process, with any task backend (and for those
  that cannot defer, the ImmediateBackend, it is what runs retries and polls).
- ``imageops_run <uuid> [<uuid> ...]``: those jobs now, even when their next attempt is later.

With ``--loop``, SIGTERM ends the process after the round it is in (no job left halfway).
"""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import ngettext

from django_imageops import jobs
from django_imageops.models import ImageJob


class Command(BaseCommand):
    """``manage.py imageops_run``: see the module docstring."""

    help = "Run due image jobs (--due) or the named jobs (UUIDs) in this process."

    def add_arguments(self, parser):
        """Positional job UUIDs; ``--due``, ``--limit``, ``--stale SECONDS``, ``--loop SECONDS``."""
        parser.add_argument("job_uuids", nargs="*", metavar="UUID", help="Jobs to run now.")
        parser.add_argument(
            "--due",
            action="store_true",
            help=(
                "Run every job that is due, and those waiting for a budget that now has room "
                "(after its cap was raised)."
            ),
        )
        parser.add_argument("--limit", type=int, default=None, help="Run at most this many.")
        parser.add_argument(
            "--stale",
            type=float,
            default=1800.0,
            metavar="SECONDS",
            help=(
                "With --due: first requeue jobs left running without progress for this long "
                "(a worker died; default %(default)s, 0 to skip), or for their provider's "
                "shorter stale_after (PiktID: 240)."
            ),
        )
        parser.add_argument(
            "--loop",
            type=float,
            default=None,
            metavar="SECONDS",
            help="With --due: keep running, looking for due jobs every SECONDS.",
        )

    def handle(self, *args, job_uuids, due, limit, stale, loop, verbosity, **options):
        """Run the named jobs now (``jobs.run_job``) and/or the due ones (``jobs.requeue_stale``,
        ``jobs.run_due``).

        Raises:
            CommandError: neither UUIDs nor ``--due``, or a UUID that is no job.
        """
        if not job_uuids and not due:
            raise CommandError("Give job UUIDs, or --due.")
        ran = 0
        if job_uuids:
            found = {str(j.uuid): j for j in ImageJob.objects.filter(uuid__in=job_uuids)}
            missing = [u for u in job_uuids if u not in found]
            if missing:
                raise CommandError(f"No such job: {', '.join(missing)}")
            for job_uuid in job_uuids:
                job = found[job_uuid]
                # Make a waiting retry due now; running and finished jobs are left alone.
                ImageJob.objects.filter(pk=job.pk, status=ImageJob.Status.PENDING).update(
                    next_attempt_at=timezone.now()
                )
                result = jobs.run_job(job.pk)
                if result is None:
                    self.stdout.write(f"{job_uuid}: not run (status {job.status})")
                    continue
                ran += 1
                if verbosity >= 1:
                    self.stdout.write(f"{job_uuid}: {result.status}")
        if due:
            stopping = self._stop_on_sigterm() if loop is not None else threading.Event()
            while not stopping.is_set():
                if stale > 0:
                    requeued = jobs.requeue_stale(stale)
                    if requeued and verbosity >= 1:
                        self.stdout.write(
                            ngettext(
                                "Requeued %(count)d stale job.",
                                "Requeued %(count)d stale jobs.",
                                requeued,
                            )
                            % {"count": requeued}
                        )
                ran += jobs.run_due(limit=limit)
                if loop is None:
                    break
                stopping.wait(loop)
        if verbosity >= 1:
            self.stdout.write(
                ngettext("Ran %(count)d job.", "Ran %(count)d jobs.", ran) % {"count": ran}
            )

    @staticmethod
    def _stop_on_sigterm() -> threading.Event:
        """An event SIGTERM sets (a supervisor or ``kill`` stopping ``--loop``): the loop ends
        after the round it is in, so no job is left ``running`` halfway. Only in the main
        thread (where Python lets a handler be installed); elsewhere, never set."""
        stopping = threading.Event()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
        return stopping
