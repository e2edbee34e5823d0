"""``manage.py imageops_batch``: chunks, one batch, skipping done work, Ctrl-C, progress."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test.utils import CaptureQueriesContext

from django_imageops import jobs
from django_imageops.models import ImageJob
from tests.jobs.support import calls, make_image, photo
from tests.testapp.models import Photo

pytestmark = pytest.mark.django_db(transaction=True)

CROP = ["--param", "x=0", "--param", "y=0", "--param", "width=10", "--param", "height=8"]


def batch(*args) -> str:
    out = io.StringIO()
    err = io.StringIO()
    call_command("imageops_batch", *args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


@pytest.fixture
def photos(s3):
    return [photo(make_image(40 + i, 30), name=f"p{i}.png", title=f"t{i % 2}") for i in range(5)]


def test_queues_in_chunks_as_one_batch_and_summarises(photos, sandbox):
    out = batch("testapp.Photo", "image", "crop", *CROP, "--chunk-size", "2", "--wait")
    created = ImageJob.objects.all()
    assert created.count() == 5
    assert len({job.batch for job in created}) == 1
    assert {job.source_object_id for job in created} == {str(p.pk) for p in photos}
    assert all(job.status == "succeeded" for job in created)
    assert calls(sandbox, "pixlab") == 5
    batch_id = created[0].batch
    assert f"Batch {batch_id}: Succeeded: 5, Failed: 0; credits:" in out
    assert "5/5" in out  # the progress line reached the end


def test_rerun_skips_objects_already_done_and_redo_queues_again(photos, sandbox):
    batch("testapp.Photo", "image", "crop", *CROP)
    out = batch("testapp.Photo", "image", "crop", *CROP)
    assert ImageJob.objects.count() == 5
    assert "queued 0, skipped 5" in out
    # Other parameters are other work.
    batch("testapp.Photo", "image", "crop", "--param", "x=1", *CROP[2:])
    assert ImageJob.objects.count() == 10
    # A failed job does not count as done: its object is queued again.
    ImageJob.objects.filter(pk=ImageJob.objects.order_by("pk").first().pk).update(status="failed")
    out = batch("testapp.Photo", "image", "crop", *CROP)
    assert "queued 1, skipped 4" in out
    batch("testapp.Photo", "image", "crop", *CROP, "--redo")
    assert ImageJob.objects.count() == 16


def test_filter_selects_objects(photos, sandbox):
    batch("testapp.Photo", "image", "crop", *CROP, "--filter", "title=t1")
    expected = {str(p.pk) for p in photos if p.title == "t1"}
    assert {j.source_object_id for j in ImageJob.objects.all()} == expected


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["testapp.Nope", "image", "crop", *CROP], "unknown model"),
        (["testapp.Photo", "image", "crop", "--param", "x=-5", *CROP[2:]], "invalid --param"),
        (["testapp.Photo", "image", "crop", *CROP, "--provider", "clipdrop"], "runs on pixlab"),
        (["testapp.Photo", "image", "crop", *CROP, "--filter", "nope=1"], "--filter"),
        (["testapp.Photo", "image", "crop", "--param", "x"], "key=value"),
    ],
)
def test_bad_input_is_a_clear_error_and_queues_nothing(photos, sandbox, args, words):
    with pytest.raises(CommandError, match=words):
        batch(*args)
    assert not ImageJob.objects.exists()
    assert calls(sandbox, "pixlab") == 0


def test_a_broken_image_is_queued_and_its_job_fails_without_a_vendor_call(photos, sandbox):
    """Objects' images are not read while queueing (one storage GET each): a broken file is
    found by its job, which fails before any vendor call."""
    from django.core.files.base import ContentFile

    bad = Photo(title="bad")
    bad.image.save("bad.png", ContentFile(b"not an image"), save=True)
    batch("testapp.Photo", "image", "crop", *CROP)
    job = ImageJob.objects.get(source_object_id=str(bad.pk))
    job.refresh_from_db()
    if job.status == "pending":
        job = jobs.run_job(job.pk)
    assert (job.status, job.error_code) == ("failed", "invalid_input")
    assert calls(sandbox, "pixlab") == 5


def test_ctrl_c_while_queueing_keeps_what_was_queued_and_a_rerun_finishes(
    photos, sandbox, monkeypatch
):
    real = jobs.create_jobs
    seen = []

    def interrupted_on_second_chunk(*args, **kwargs):
        seen.append(1)
        if len(seen) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(jobs, "create_jobs", interrupted_on_second_chunk)
    out = batch("testapp.Photo", "image", "crop", *CROP, "--chunk-size", "2")
    assert "Interrupted: 2 jobs queued" in out
    first = ImageJob.objects.all()
    assert first.count() == 2
    batch_id = first[0].batch
    monkeypatch.setattr(jobs, "create_jobs", real)
    out = batch("testapp.Photo", "image", "crop", *CROP, "--batch", str(batch_id), "--wait")
    assert ImageJob.objects.count() == 5
    assert set(ImageJob.objects.values_list("batch", flat=True)) == {batch_id}
    assert "Succeeded: 5" in out


def test_wait_shows_progress_until_done_and_ctrl_c_stops_only_the_waiting(
    photos, sandbox, settings, monkeypatch
):
    """With a real queue (django-tasks-db) and no worker, jobs stay pending; --timeout and Ctrl-C
    end the wait without touching the jobs."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    out = batch(
        "testapp.Photo", "image", "crop", *CROP, "--wait", "--timeout", "0.3", "--poll", "0.1"
    )
    assert "0/5" in out and "pending 5" in out
    assert "Timed out waiting; the jobs keep running." in out
    assert "Pending: 5" in out

    import django_imageops.management.commands.imageops_batch as command

    def ctrl_c(seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr(command.time, "sleep", ctrl_c)
    out = batch("testapp.Photo", "image", "crop", *CROP, "--redo", "--wait")
    assert "Stopped waiting; the queued jobs keep running." in out
    assert ImageJob.objects.filter(status="pending").count() == 10
    from django_tasks_db.models import DBTaskResult

    assert DBTaskResult.objects.count() == 10


def test_wait_stops_when_the_rest_waits_for_a_budget(photos, sandbox, settings):
    """A spent daily budget holds 3 of 5 jobs back: ``--wait`` does not wait for its
    ``--timeout`` but stops, says how many wait and why, and exits with status 3."""
    import time

    from tests.jobs.support import vendor_setting

    vendor_setting(settings, "pixlab", DAILY_BUDGET=2)
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    with pytest.raises(CommandError) as stopped:
        call_command(
            "imageops_batch",
            "testapp.Photo",
            "image",
            "crop",
            *CROP,
            "--wait",
            "--timeout",
            "60",
            "--poll",
            "0.1",
            stdout=out,
            stderr=err,
        )
    assert time.monotonic() - started < 30
    assert stopped.value.returncode == 3
    message = str(stopped.value)
    assert message.startswith(
        "3 jobs wait for a budget: PixLab's daily budget of 2 credits is spent; resumes at "
        "00:00 UTC. Raise the budget"
    ), message
    assert "imageops_run --due" in message
    assert "waiting for a budget 3" in out.getvalue()
    assert "Succeeded: 2" in out.getvalue()  # the summary is printed first
    assert calls(sandbox, "pixlab") == 2
    assert ImageJob.objects.filter(status="pending", error_code="budget_exhausted").count() == 3


def test_queueing_queries_do_not_grow_with_objects_in_a_chunk(s3, sandbox, settings):
    """Per chunk: a constant number of queries, however many objects it holds."""
    from django.db import connection

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    for i in range(3):
        photo(make_image(30 + i, 20), name=f"a{i}.png")
    with CaptureQueriesContext(connection) as small:
        batch("testapp.Photo", "image", "crop", *CROP, "--chunk-size", "100")
    for i in range(12):
        photo(make_image(30 + i, 20), name=f"b{i}.png")
    with CaptureQueriesContext(connection) as large:
        batch("testapp.Photo", "image", "crop", *CROP, "--chunk-size", "100", "--redo")
    # The task enqueues are one INSERT per task (django-tasks-db); the rest is constant.
    assert len(large) - len(small) <= 15 - 3 + 2
