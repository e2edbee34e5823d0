"""``manage.py imageops_batch``: one operation over a queryset, queued in chunks as one batch.

    manage.py imageops_batch shop.Product photo uncrop --param left=200 --param right=200 \\
        --filter category__slug=shoes --chunk-size 500 --wait

- Jobs are created through ``jobs.create_jobs`` (validation first, bulk insert, tasks enqueued on
  commit), ``--chunk-size`` objects at a time, all under one batch UUID (``--batch`` to add to an
  existing one). The workers start on the first chunk while later ones are still being queued.
- An object is skipped when it already has a job for the same operation, provider, source field
  and the given ``--param`` values that is pending, running, waiting for the editor or succeeded
  (any batch): rerunning the same command queues only what is missing or failed. ``--redo``
  queues every object again.
- A bad ``--param``, model, field or filter stops before anything is queued. Images are not
  read while queueing: a broken or unusable image fails its own job before any vendor call (no
  credit); should ``create_jobs`` refuse an object of a chunk, that object is reported and
  skipped and the rest of the chunk queued.
- ``--wait`` shows a progress bar until every job of the batch is finished, then a summary
  (succeeded, failed, credits). Ctrl-C loses nothing: chunks already queued stay queued and run;
  the command prints the batch UUID and how to resume.
- When every unfinished job of the batch waits for a budget (``error_code``
  ``budget_exhausted``: no worker runs them until the budget has room), ``--wait`` stops at
  once: it says how many jobs wait and why, and the command exits with status 3
  (``EXIT_BUDGET``; ``CommandError`` with that ``returncode`` under ``call_command``).

Exit status: 0 when the jobs were queued (with ``--wait``: every job finished, or
``--timeout`` passed); 1 on bad input (nothing queued); 3 (``EXIT_BUDGET``) when ``--wait``
stopped because the rest of the batch waits for a budget.
"""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal

from django.apps import apps
from django.core.exceptions import FieldError, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Sum

from django_imageops import jobs
from django_imageops.models import ImageJob
from django_imageops.operations import OPERATIONS
from django_imageops.providers import default_provider, find_provider, providers_for

#: Statuses that make a rerun skip the object (the work is done or under way).
SKIP_STATUSES = (
    ImageJob.Status.PENDING,
    ImageJob.Status.RUNNING,
    ImageJob.Status.WAITING_FOR_EDITOR,
    ImageJob.Status.SUCCEEDED,
)
#: Statuses the progress bar counts as done (waiting for a person counts: no worker will move it).
SETTLED_STATUSES = (*ImageJob.FINISHED_STATUSES, ImageJob.Status.WAITING_FOR_EDITOR)
#: Exit status when ``--wait`` stopped because every unfinished job waits for a budget.
EXIT_BUDGET = 3
#: The ``_counts`` key of pending jobs waiting for a budget (also counted under "pending").
BUDGET = "waiting_for_budget"


def parse_pairs(pairs: list[str], option: str) -> dict:
    """``["left=200", "test=true"]`` -> ``{"left": 200, "test": True}`` (JSON values where they
    parse, else strings).

    Raises:
        CommandError: for an item without ``=``.
    """
    result = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise CommandError(f"{option} takes key=value, not {pair!r}")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        result[key.strip()] = value
    return result


class Command(BaseCommand):
    """``manage.py imageops_batch``: see the module docstring."""

    help = (
        "Queue one image operation over a model's objects, in chunks, as one batch. Exit "
        "status: 0 queued (with --wait: finished, or --timeout passed), 1 bad input (nothing "
        "queued), 3 --wait stopped because every unfinished job waits for a spent budget."
    )

    def add_arguments(self, parser):
        """Positional ``model`` (app_label.ModelName), ``field``, ``operation``; options
        ``--provider``, ``--param``, ``--filter``, ``--target-field``, ``--chunk-size``,
        ``--batch``, ``--redo``, ``--wait``, ``--poll``/``--timeout`` (seconds)."""
        parser.add_argument("model", help="app_label.ModelName of the objects.")
        parser.add_argument("field", help="The ImageField holding each object's source image.")
        parser.add_argument("operation", choices=sorted(OPERATIONS))
        parser.add_argument("--provider", help="Vendor to use (default: the operation's).")
        parser.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="Operation parameter, e.g. --param left=200 (repeatable).",
        )
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            metavar="LOOKUP=VALUE",
            help="QuerySet filter, e.g. --filter category__slug=shoes (repeatable).",
        )
        parser.add_argument(
            "--target-field", default="", help="DerivedImageField that each result fills."
        )
        parser.add_argument("--chunk-size", type=int, default=200, help="Objects per chunk.")
        parser.add_argument("--batch", type=uuid.UUID, help="Add to this batch UUID.")
        parser.add_argument(
            "--redo",
            action="store_true",
            help="Queue objects that already have a pending or succeeded job too.",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help=(
                "Show progress until done; stop early (exit status 3) when every unfinished "
                "job waits for a spent budget."
            ),
        )
        parser.add_argument(
            "--poll", type=float, default=1.0, help="Seconds between progress updates."
        )
        parser.add_argument(
            "--timeout", type=float, default=None, help="Stop waiting after this many seconds."
        )

    def handle(self, *args, **options):
        """Validate everything, queue the jobs chunk by chunk under one batch, then optionally wait.

        Raises:
            CommandError: a bad model, field, ``--param``, ``--filter`` or ``--chunk-size``,
                before anything is queued.
        """
        model = self._model(options["model"])
        field = options["field"]
        operation = options["operation"]
        provider = options["provider"] or default_provider(operation)
        runner = find_provider(operation, provider)
        if runner is None:
            names = ", ".join(p.name for p in providers_for(operation))
            raise CommandError(f"{operation} runs on {names}, not {provider}")
        params = parse_pairs(options["param"], "--param")
        try:
            runner.clean_params(params)
        except ValidationError as exc:
            raise CommandError(f"invalid --param: {self._messages(exc)}") from exc
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1")

        queryset = model._default_manager.all()
        try:
            queryset = queryset.filter(**parse_pairs(options["filter"], "--filter"))
            queryset = queryset.exclude(**{field: ""}).exclude(**{f"{field}__isnull": True})
            total = queryset.count()
        except (FieldError, ValueError, ValidationError) as exc:
            raise CommandError(f"invalid field or --filter: {exc}") from exc

        batch = options["batch"] or uuid.uuid4()
        self.stdout.write(
            f"{total} {model._meta.verbose_name_plural} match; batch {batch} "
            f"({operation} on {provider})"
        )
        queued = skipped = invalid = 0
        try:
            for chunk in self._chunks(queryset, options["chunk_size"]):
                todo = (
                    chunk
                    if options["redo"]
                    else self._without_jobs(chunk, model, field, operation, provider, params)
                )
                skipped += len(chunk) - len(todo)
                created, refused = self._create(
                    todo, field, operation, provider, params, batch, options["target_field"]
                )
                queued += created
                invalid += refused
                if options["verbosity"] >= 1:
                    self.stdout.write(
                        f"queued {queued}, skipped {skipped} (already done or under way), "
                        f"refused {invalid} of {total}"
                    )
        except KeyboardInterrupt:
            self.stdout.write(
                self.style.WARNING(
                    f"\nInterrupted: {queued} jobs queued in batch {batch} stay queued. Run the "
                    f"same command with --batch {batch} to queue the rest."
                )
            )
            return

        budget_stop = ""
        if options["wait"] and ImageJob.objects.filter(batch=batch).exists():
            try:
                budget_stop = self._wait(batch, options["poll"], options["timeout"])
            except KeyboardInterrupt:
                self.stdout.write(
                    self.style.WARNING("\nStopped waiting; the queued jobs keep running.")
                )
        self._summary(batch)
        if budget_stop:
            raise CommandError(budget_stop, returncode=EXIT_BUDGET)

    # -- queueing ------------------------------------------------------------------------------

    @staticmethod
    def _model(label: str):
        try:
            return apps.get_model(label)
        except (LookupError, ValueError) as exc:
            raise CommandError(f"unknown model {label!r} (use app_label.ModelName)") from exc

    @staticmethod
    def _messages(exc: ValidationError) -> str:
        if hasattr(exc, "error_dict"):
            return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        return " ".join(exc.messages)

    @staticmethod
    def _chunks(queryset, size: int):
        """Lists of objects by primary key order (keyset pagination: no growing OFFSET)."""
        last = None
        while True:
            page = queryset.order_by("pk")
            if last is not None:
                page = page.filter(pk__gt=last)
            objects = list(page[:size])
            if not objects:
                return
            yield objects
            last = objects[-1].pk

    @staticmethod
    def _without_jobs(objects, model, field, operation, provider, params) -> list:
        from django.contrib.contenttypes.models import ContentType

        existing = ImageJob.objects.filter(
            source_content_type=ContentType.objects.get_for_model(model),
            source_object_id__in=[str(obj.pk) for obj in objects],
            source_field=field,
            operation=operation,
            provider=provider,
            status__in=SKIP_STATUSES,
        ).values_list("source_object_id", "params")
        done = {
            object_id
            for object_id, job_params in existing
            if all(job_params.get(k) == v for k, v in params.items())
        }
        return [obj for obj in objects if str(obj.pk) not in done]

    def _create(self, objects, field, operation, provider, params, batch, target_field):
        """Create the chunk's jobs; objects with refused images are reported and left out.

        Returns ``(jobs created, objects refused)``.
        """
        if not objects:
            return 0, 0
        kwargs = {
            "field": field,
            "provider": provider,
            "params": params,
            "batch": batch,
            "target_field": target_field,
        }
        try:
            return len(jobs.create_jobs(operation, objects=objects, **kwargs)), 0
        except ValidationError as exc:
            keys = set(getattr(exc, "error_dict", {}) or {})
            if keys - {field, "image", "__all__"}:
                raise CommandError(self._messages(exc)) from exc
        # Some image in the chunk was refused: queue the chunk one object at a time.
        created = refused = 0
        for obj in objects:
            try:
                created += len(jobs.create_jobs(operation, objects=[obj], **kwargs))
            except ValidationError as exc:
                refused += 1
                self.stderr.write(f"skipped {obj._meta.label} {obj.pk}: {self._messages(exc)}")
        return created, refused

    # -- progress ------------------------------------------------------------------------------

    def _counts(self, batch, with_budget: bool = False) -> dict[str, int]:
        """Jobs of ``batch`` per status; with ``with_budget``, also ``BUDGET``: the pending ones
        waiting for a budget (``jobs.states.budget_wait_q``). One query."""
        counts, waiting = jobs.status_counts(ImageJob.objects.filter(batch=batch))
        if with_budget:
            counts[BUDGET] = waiting
        return counts

    def _wait(self, batch, poll: float, timeout: float | None) -> str:
        """Show progress until every job of ``batch`` is settled, ``timeout`` seconds pass, or
        every unsettled job waits for a budget.

        Returns:
            "" when the batch settled or the wait timed out; else the message that says how
            many jobs wait for a budget, why, and what to do.
        """
        tty = hasattr(self.stdout, "isatty") and self.stdout.isatty()
        started = time.monotonic()
        last_line = ""
        budget_stop = ""
        while True:
            counts = self._counts(batch, with_budget=True)
            waiting = counts.pop(BUDGET)
            total = sum(counts.values())
            settled = sum(counts.get(s, 0) for s in SETTLED_STATUSES)
            line = self._bar(counts, total, settled, time.monotonic() - started, waiting)
            if tty:
                self.stdout.write("\r" + line, ending="")
                self.stdout.flush()
            elif line != last_line:
                self.stdout.write(line)
            last_line = line
            if settled >= total:
                break
            if waiting and settled + waiting >= total:
                budget_stop = self._budget_message(batch, waiting)
                break
            if timeout is not None and time.monotonic() - started >= timeout:
                self.stdout.write(
                    ("\n" if tty else "") + "Timed out waiting; the jobs keep running."
                )
                return ""
            time.sleep(poll)
        if tty:
            self.stdout.write("")
        return budget_stop

    @staticmethod
    def _budget_message(batch, waiting: int) -> str:
        """ "3 jobs wait for a budget: <reasons>. Raise ... then ``imageops_run --due``"."""
        reasons = "; ".join(
            reason.rstrip(".") + (f" ({n} jobs)" if n != waiting else "")
            for reason, n in jobs.budget_wait_reasons(ImageJob.objects.filter(batch=batch))
        )
        return (
            f"{waiting} job{'s' if waiting != 1 else ''} wait{'' if waiting != 1 else 's'} for "
            f"a budget: {reasons}. Raise the budget (the vendor's *_BUDGET setting) or wait "
            f"for it to reset, then run `manage.py imageops_run --due` (or press Resume on "
            f"the admin's Vendor credits page); the jobs stay queued in batch {batch}."
        )

    @staticmethod
    def _bar(counts, total, settled, elapsed, waiting=0, width=30) -> str:
        filled = int(width * settled / total) if total else width
        return (
            f"[{'#' * filled}{'.' * (width - filled)}] {settled}/{total} "
            f"succeeded {counts.get(ImageJob.Status.SUCCEEDED, 0)} "
            f"failed {counts.get(ImageJob.Status.FAILED, 0)} "
            f"running {counts.get(ImageJob.Status.RUNNING, 0)} "
            f"pending {counts.get(ImageJob.Status.PENDING, 0) - waiting} "
            + (f"waiting for a budget {waiting} " if waiting else "")
            + f"{elapsed:.0f}s"
        )

    def _summary(self, batch) -> None:
        counts = self._counts(batch)
        credits = ImageJob.objects.filter(batch=batch).aggregate(c=Sum("credits_consumed"))["c"]
        credits = credits or Decimal(0)
        parts = ", ".join(
            f"{label}: {counts.get(status, 0)}"
            for status, label in ImageJob.Status.choices
            if counts.get(status, 0) or status in ("succeeded", "failed")
        )
        self.stdout.write(f"Batch {batch}: {parts}; credits: {credits.normalize():f}")
        if counts.get(ImageJob.Status.FAILED):
            self.stdout.write(
                "Failed jobs: the job admin filtered with ?batch=" + str(batch) + "&status=failed"
            )
