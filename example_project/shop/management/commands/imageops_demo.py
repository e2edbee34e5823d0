"""``manage.py imageops_demo``: every operation x provider on the sample photos, end to end.

Starts the embedded vendor sandbox and S3 server (for whatever the environment does not point at
real services), migrates, starts the background workers (``db_worker`` processes) that run the
jobs, runs ``shop.demo.run_demo`` and prints one line per job, a summary line ``N jobs
succeeded, M failed, K credits`` and the path of a before/after contact sheet.
Exits with status 1 when any job failed.
"""

import time
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext_lazy as _

from shop import embedded
from shop.demo import _format_credits, run_demo


class Command(BaseCommand):
    """Run the demo (see the module docstring)."""

    help = _("Run every image operation x provider on the sample photos and report.")
    requires_system_checks = []  # checked after the embedded servers run

    def add_arguments(self, parser):
        """``--timeout`` seconds for the last job, ``--contact-sheet`` PNG path."""
        parser.add_argument(
            "--timeout",
            type=float,
            default=900.0,
            help="Seconds to wait for unfinished jobs before counting them as failed.",
        )
        parser.add_argument(
            "--contact-sheet",
            type=Path,
            default=None,
            help="Where to write the before/after PNG (default: var/contact-sheet.png).",
        )

    def handle(self, *args, **options):
        """Start the embedded parts, migrate, run the demo, report; CommandError if a job failed."""
        started = time.monotonic()
        if embedded.reset_database():
            self.stdout.write("Embedded S3 is in memory: starting from a fresh database.")
        servers = embedded.start()
        try:
            call_command("check")
            call_command("migrate", interactive=False, verbosity=0)
            embedded.start_workers(servers)
            for line in servers.describe():
                self.stdout.write(line)
            result = run_demo(
                stdout=self.stdout,
                timeout=options["timeout"],
                contact_sheet=options["contact_sheet"],
                workers_alive=servers.workers_alive,
            )
        finally:
            servers.stop()
        for problem in result.problems:
            self.stdout.write(self.style.ERROR(problem))
        self.stdout.write("")
        summary = (
            f"{result.succeeded} jobs succeeded, {result.failed} failed, "
            f"{_format_credits(result.credits)} credits"
        )
        self.stdout.write(self.style.SUCCESS(summary) if result.ok else self.style.ERROR(summary))
        self.stdout.write(f"Contact sheet: {result.contact_sheet}")
        self.stdout.write(f"Finished in {time.monotonic() - started:.1f} s")
        if not result.ok:
            raise CommandError(
                f"{result.failed} of {len(result.jobs)} jobs failed"
                + (f"; {len(result.problems)} other problem(s)" if result.problems else "")
            )
