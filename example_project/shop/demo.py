"""The demo run: every operation x provider on the sample photos, through ``django_imageops.jobs``.

``run_demo()`` is what ``manage.py imageops_demo`` does once the embedded servers and the
background workers run: it loads the photos of ``example_project/samples/`` as ``Product`` rows,
queues one job per product and step of ``STEPS`` (in one batch; the workers run them), simulates
the ClippingMagic editor save for each review job once it waits for the editor, waits until every
job has finished, and reports.
"""

from __future__ import annotations

import hashlib
import io
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import requests
from django.conf import settings
from django.core.files import File
from django.core.files.images import ImageFile
from PIL import Image, ImageDraw, ImageFont

from django_imageops import jobs
from django_imageops.models import ImageJob
from django_imageops.providers import default_provider

from .models import BANNER_EXTEND, Product

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"
SAMPLE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


@dataclass(frozen=True)
class Step:
    """One operation x provider the demo runs on every product.

    Attributes:
        label: column title of the contact sheet.
        operation, provider: as in ``ImageJob``.
        params: the job params, or a callable ``(width, height) -> params`` (pixels).
        target_field: the ``Product`` DerivedImageField the result fills (``""``: none).
        review: a ClippingMagic review job whose editor save the sandbox simulates.
    """

    label: str
    operation: str
    provider: str
    params: dict | Callable[[int, int], dict] = field(default_factory=dict)
    target_field: str = ""
    review: bool = False

    def params_for(self, width: int, height: int) -> dict:
        """The params for a source of ``width`` x ``height`` pixels."""
        return self.params(width, height) if callable(self.params) else dict(self.params)


def _centre_half(width: int, height: int) -> dict:
    return {"x": width // 4, "y": height // 4, "width": width // 2, "height": height // 2}


def derived_step(label: str, field_name: str) -> Step:
    """The step that fills ``Product.<field_name>``, a DerivedImageField: its operation,
    provider and params come from the field's declaration."""
    field = Product._meta.get_field(field_name)
    provider = field.provider or default_provider(field.operation)
    return Step(label, field.operation, provider, dict(field.params), target_field=field_name)


#: What the demo runs, in order. PiktID goes first: its generation is asynchronous, so its polls
#: overlap with the synchronous jobs that follow.
STEPS: tuple[Step, ...] = (
    Step(
        "uncrop / piktid",
        "uncrop",
        "piktid",
        {"left": BANNER_EXTEND, "right": BANNER_EXTEND, "top": 0, "bottom": 0},
    ),
    Step("crop / pixlab", "crop", "pixlab", _centre_half),
    derived_step("banner: uncrop / clipdrop", "banner"),
    Step("reimagine / clipdrop", "reimagine", "clipdrop"),
    derived_step("cut-out: clippingmagic", "cutout"),
    Step(
        "review / clippingmagic",
        "remove_background",
        "clippingmagic",
        {"mode": "review"},
        review=True,
    ),
)


class Progress:
    """Prints a line whenever a job of the batch finishes (read from the database: the jobs run
    in the worker processes), and what is still being waited for."""

    def __init__(self, batch: uuid.UUID, total: int, stream=None, names: dict | None = None):
        self.batch = batch
        self.names = names or {}
        self.total = total
        self.stream = stream or sys.stdout
        self.finished: set[int] = set()
        self._last_waiting = None

    def update(self, batch_jobs: list[ImageJob]) -> None:
        """Print a line for each job of ``batch_jobs`` that finished since the last call."""
        for job in batch_jobs:
            if job.status not in ImageJob.FINISHED_STATUSES or job.pk in self.finished:
                continue
            self.finished.add(job.pk)
            self.line(
                f"[{len(self.finished):>2}/{self.total}] {job.status:<9} "
                f"{self.names.get(job.source_object_id, '')}: "
                f"{job.operation}/{job.provider} {job.params.get('mode', '')}".rstrip()
            )

    def waiting(self, jobs_left: list[ImageJob]) -> None:
        """Say (once per change) which unfinished jobs the demo waits for."""
        counts: dict[str, int] = {}
        for job in jobs_left:
            key = f"{job.operation}/{job.provider} {job.status}"
            counts[key] = counts.get(key, 0) + 1
        summary = ", ".join(f"{n} {key}" for key, n in sorted(counts.items()))
        if summary != self._last_waiting:
            self._last_waiting = summary
            self.line(f"        waiting for {summary}")

    def line(self, text: str) -> None:
        """Write one progress line at once."""
        self.stream.write(text + "\n")
        self.stream.flush()


@dataclass
class DemoResult:
    """What ``run_demo`` did.

    Attributes:
        jobs: the batch's jobs, in step order per product.
        succeeded, failed: job counts.
        credits: the credits the batch consumed.
        contact_sheet: path of the PNG written.
        problems: what else went wrong (e.g. a derived field left empty).
    """

    jobs: list[ImageJob]
    succeeded: int
    failed: int
    credits: Decimal
    contact_sheet: Path | None
    problems: list[str]

    @property
    def ok(self) -> bool:
        """True when every job succeeded and nothing else went wrong."""
        return self.failed == 0 and not self.problems and self.succeeded == len(self.jobs)


def sample_paths(directory: Path = SAMPLES_DIR) -> list[Path]:
    """The sample photos (``*.png``, ``*.jpg``, ...), sorted by name."""
    return sorted(p for p in directory.iterdir() if p.suffix.lower() in SAMPLE_SUFFIXES)


def load_products(paths: list[Path]) -> list[Product]:
    """Create one ``Product`` per photo (uploading it to the default storage)."""
    products = []
    for path in paths:
        with path.open("rb") as handle:
            product = Product(name=path.stem.replace("_", " ").title())
            product.photo.save(path.name, File(handle), save=False)
            product.save()
        products.append(product)
    return products


def load_wagtail_images(paths: list[Path]) -> list:
    """Put each photo in Wagtail's image library (root collection), unless it has images
    already (the Wagtail variant, ``settings_wagtail``). Returns the images created."""
    from wagtail.images import get_image_model
    from wagtail.models import Collection

    model = get_image_model()
    if model.objects.exists():
        return []
    root = Collection.get_first_root_node()
    images = []
    for path in paths:
        with path.open("rb") as handle:
            image = model(title=path.stem.replace("_", " ").title(), collection=root)
            image.file.save(path.name, ImageFile(handle, name=path.name), save=False)
            with Image.open(path) as pixels:  # the storage may close the file it saved
                image.width, image.height = pixels.size
            image.file_size = path.stat().st_size
            image.file_hash = hashlib.sha1(path.read_bytes()).hexdigest()  # noqa: S324 (Wagtail's)
            image.save()
        images.append(image)
    return images


def steps_to_run(stdout) -> list[Step]:
    """``STEPS``, without the review step when ClippingMagic is the real vendor (its editor save
    needs a person: use ``make serve`` and the editor page for that)."""
    if "clippingmagic" in settings.SANDBOX_VENDORS:
        return list(STEPS)
    stdout.write("ClippingMagic is real: skipping the review step (it needs a person).\n")
    return [step for step in STEPS if not step.review]


def simulate_editor_save(job: ImageJob) -> None:
    """Stand in for a person saving in the ClippingMagic editor, then ask for the new result the
    way the editor callback does (``jobs.request_review_result``: a worker fetches it).

    Raises:
        requests.HTTPError: when the sandbox refuses the simulated save.
    """
    response = requests.post(
        f"{settings.SANDBOX_URL}/_sandbox/clippingmagic/{job.vendor_image_id}/edit", timeout=60
    )
    response.raise_for_status()
    jobs.request_review_result(job, job.vendor_image_id)


def run_demo(
    *,
    stdout=None,
    timeout: float = 900.0,
    contact_sheet: Path | None = None,
    workers_alive: Callable[[], int] | None = None,
):
    """Run the demo against whatever the settings point at (call after ``embedded.start()``,
    ``migrate`` and ``embedded.start_workers()``: the jobs run on the background workers).

    Args:
        stdout: where progress and the report go (default ``sys.stdout``).
        timeout: seconds to wait for the last job before giving up on it (counted as failed).
        contact_sheet: PNG path (default ``VAR_DIR/contact-sheet.png``).
        workers_alive: returns how many background workers still run; when none does, the
            wait stops with a problem reported (``None``: not watched).

    Returns:
        ``DemoResult``.
    """
    stdout = stdout or sys.stdout
    products = load_products(sample_paths())
    steps = steps_to_run(stdout)
    batch = uuid.uuid4()
    total = len(products) * len(steps)
    stdout.write(
        f"Loaded {len(products)} products ({', '.join(p.name for p in products)}); "
        f"running {total} jobs ({len(steps)} operation x provider each), batch {batch}\n"
    )
    progress = Progress(batch, total, stdout, names={str(p.pk): p.name for p in products})
    problems: list[str] = []
    for step in steps:
        progress.line(f"        queueing {step.label} on {len(products)} products")
        for product in products:
            jobs.create_jobs(
                step.operation,
                objects=[product],
                field="photo",
                provider=step.provider,
                params=step.params_for(product.photo.width, product.photo.height),
                batch=batch,
                target_field=step.target_field,
            )
    _wait(batch, timeout, progress, problems, workers_alive)

    order = {(step.operation, step.provider, step.review): i for i, step in enumerate(steps)}
    products_by_pk = {p.pk: p for p in products}
    batch_jobs = list(ImageJob.objects.filter(batch=batch))
    batch_jobs.sort(key=lambda j: (int(j.source_object_id), order[_step_key(j)]))

    _report(batch_jobs, products_by_pk, stdout)
    _compare_credits(batch_jobs, stdout)
    problems += _check_derived_fields(batch_jobs, steps)
    succeeded = sum(j.status == ImageJob.Status.SUCCEEDED for j in batch_jobs)
    failed = len(batch_jobs) - succeeded
    credits = sum((j.credits_consumed for j in batch_jobs), Decimal(0))
    sheet = contact_sheet or Path(settings.VAR_DIR) / "contact-sheet.png"
    write_contact_sheet(sheet, products, steps, batch_jobs)
    return DemoResult(batch_jobs, succeeded, failed, credits, sheet, problems)


def _step_key(job: ImageJob) -> tuple[str, str, bool]:
    return job.operation, job.provider, job.params.get("mode") == "review"


def _wait(batch, timeout: float, progress: Progress, problems: list[str], workers_alive) -> None:
    """Until every job of ``batch`` has finished (or ``timeout``): report finished jobs and
    simulate the editor save of each review job that waits for the editor (once)."""
    deadline = time.monotonic() + timeout
    saved: set[int] = set()
    while True:
        batch_jobs = list(ImageJob.objects.filter(batch=batch).order_by("pk"))
        progress.update(batch_jobs)
        for job in batch_jobs:
            if job.status == ImageJob.Status.WAITING_FOR_EDITOR and job.pk not in saved:
                saved.add(job.pk)
                _simulate_review(job, problems, progress)
        left = [j for j in batch_jobs if j.status not in ImageJob.FINISHED_STATUSES]
        if not left or time.monotonic() > deadline:
            return
        if workers_alive is not None and not workers_alive():
            problems.append("every background worker exited (their logs are listed above)")
            return
        progress.waiting(left)
        time.sleep(0.3)


def _simulate_review(job: ImageJob, problems: list[str], progress: Progress) -> None:
    progress.line(f"        simulating an editor save of ClippingMagic image {job.vendor_image_id}")
    try:
        simulate_editor_save(job)
    except Exception as exc:
        problems.append(f"review job {job.uuid}: {type(exc).__name__}: {exc}")


def _format_credits(value: Decimal) -> str:
    value = Decimal(value or 0)
    return f"{value.normalize():f}" if value else "0"


def _report(batch_jobs: list[ImageJob], products_by_pk: dict, stdout) -> None:
    rows = []
    for job in batch_jobs:
        product = products_by_pk.get(int(job.source_object_id))
        size = f"{job.result_width}x{job.result_height}" if job.result_width else "-"
        operation = job.operation + (" (review)" if job.params.get("mode") == "review" else "")
        url = job.result.url if job.result else (job.error_message or "-")
        rows.append(
            (
                str(product),
                operation,
                job.provider,
                job.status,
                ("~" if job.credits_estimated else "") + _format_credits(job.credits_consumed),
                size,
                f"{job.result_bytes} B" if job.result_bytes else "-",
                url,
            )
        )
    headers = ("product", "operation", "provider", "status", "credits", "pixels", "bytes", "url")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers[:-1])]
    stdout.write("\n")
    for row in (headers, *rows):
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        stdout.write("  ".join([*cells, row[-1]]) + "\n")
    if any(job.credits_estimated for job in batch_jobs):
        stdout.write("~ estimated: the vendor does not report costs; its PRICE setting was used\n")


def _compare_credits(batch_jobs: list[ImageJob], stdout) -> None:
    """Print the credits the jobs recorded per vendor next to what the embedded sandbox
    counted (PiktID and PixLab do not report credits to API clients: their jobs record each
    vendor's PRICE, estimated)."""
    recorded: dict[str, Decimal] = {}
    for job in batch_jobs:
        recorded[job.provider] = recorded.get(job.provider, Decimal(0)) + job.credits_consumed
    line = "Credits recorded by the jobs: " + ", ".join(
        f"{name} {_format_credits(value)}" for name, value in sorted(recorded.items())
    )
    if settings.EMBEDDED_SANDBOX:
        try:
            response = requests.get(f"{settings.SANDBOX_URL}/_sandbox/counters", timeout=10)
            counters = response.json()
            line += "; counted by the sandbox: " + ", ".join(
                f"{name} {counters.get(name, {}).get('credits_consumed', '?')}"
                for name in sorted(recorded)
                if name in settings.SANDBOX_VENDORS
            )
        except (requests.RequestException, ValueError):
            pass
    stdout.write(line + "\n")


def _check_derived_fields(batch_jobs: list[ImageJob], steps: list[Step]) -> list[str]:
    """A succeeded job with a target field must have filled that field of its product."""
    problems = []
    for job in batch_jobs:
        if not job.target_field or job.status != ImageJob.Status.SUCCEEDED:
            continue
        product = Product.objects.get(pk=job.source_object_id)
        if not getattr(product, job.target_field):
            problems.append(f"{product}: {job.target_field} is empty after job {job.uuid}")
    return problems


# --- contact sheet ----------------------------------------------------------------------------

#: Height in pixels of each product's original photo on the sheet; results share its scale.
ROW_HEIGHT = 180
#: Narrowest column (pixels), so that the labels fit.
MIN_COLUMN = 200
PAD = 12
LABEL_HEIGHT = 36


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _checkerboard(size: tuple[int, int], square: int = 8) -> Image.Image:
    board = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(board)
    for y in range(0, size[1], square):
        for x in range(0, size[0], square):
            if (x // square + y // square) % 2:
                draw.rectangle([x, y, x + square - 1, y + square - 1], fill=(204, 204, 204))
    return board


def _load(file) -> Image.Image | None:
    """The stored image of ``file`` decoded (``None`` when it cannot be read)."""
    try:
        with file.open("rb") as handle:
            image = Image.open(io.BytesIO(handle.read()))
            image.load()
            return image
    except Exception:
        return None


def _render(image: Image.Image, scale: float) -> Image.Image:
    """``image`` scaled by ``scale``, transparent parts shown on a checkerboard."""
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    if image.mode in ("RGBA", "LA", "P", "PA"):
        image = image.convert("RGBA").resize(size, Image.Resampling.LANCZOS)
        tile = _checkerboard(size)
        tile.paste(image, mask=image.getchannel("A"))
        return tile
    return image.convert("RGB").resize(size, Image.Resampling.LANCZOS)


def write_contact_sheet(
    path: Path, products: list[Product], steps: list[Step], batch_jobs: list[ImageJob]
) -> Path:
    """Write a before/after PNG: a row per product, its photo then one cell per step.

    In each row every result is drawn at the scale of the original photo (which is
    ``ROW_HEIGHT`` pixels high), so a crop looks smaller and an uncrop wider than the photo,
    as they are. Transparent parts are drawn on a checkerboard. Each cell is labelled with the
    step, the image size in pixels and the job status; a job without a readable result is a
    grey box with its status.

    Returns:
        ``path``.
    """
    by_cell = {(int(j.source_object_id), _step_key(j)): j for j in batch_jobs}
    rows = []  # per product: [(label, image or None, status)], scale
    files = []
    for product in products:
        cells = [(f"{product.name} (original)", product.photo, "")]
        for step in steps:
            job = by_cell.get((product.pk, (step.operation, step.provider, step.review)))
            status = job.status if job else "missing"
            cells.append((step.label, job.result if job and job.result else None, status))
        rows.append(cells)
        files += [file for _label, file, _status in cells if file]
    with ThreadPoolExecutor(max_workers=8) as pool:
        images = dict(zip(map(id, files), pool.map(_load, files), strict=True))

    columns = [MIN_COLUMN] * (len(steps) + 1)
    plans = []
    for cells in rows:
        original = images.get(id(cells[0][1]))
        scale = ROW_HEIGHT / original.height if original else 1.0
        plan = []
        for col, (label, file, status) in enumerate(cells):
            image = images.get(id(file)) if file else None
            rendered = _render(image, scale) if image else None
            columns[col] = max(columns[col], rendered.width if rendered else 0)
            plan.append((label, image, rendered, status))
        plans.append(plan)

    row_heights = [
        max(ROW_HEIGHT, *(r.height for _l, _i, r, _s in plan if r)) + LABEL_HEIGHT + PAD
        for plan in plans
    ]
    sheet = Image.new("RGB", (PAD + sum(c + PAD for c in columns), PAD + sum(row_heights)), "white")
    draw = ImageDraw.Draw(sheet)
    font, small = _font(14), _font(12)
    top = PAD
    for plan, row_height in zip(plans, row_heights, strict=True):
        left = PAD
        for col, (label, image, rendered, status) in enumerate(plan):
            draw.text((left, top), label, fill="black", font=font)
            box_top = top + LABEL_HEIGHT
            if rendered is None:
                draw.rectangle(
                    [left, box_top, left + MIN_COLUMN - 1, box_top + ROW_HEIGHT - 1],
                    fill=(220, 220, 220),
                )
                draw.text((left + 8, box_top + 8), status or "unreadable", fill="red", font=font)
            else:
                sheet.paste(rendered, (left, box_top))
                caption = f"{image.width}x{image.height} px" + (f"  {status}" if status else "")
                draw.text((left, top + 18), caption, fill=(90, 90, 90), font=small)
            left += columns[col] + PAD
        top += row_height
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, "PNG")
    return path
