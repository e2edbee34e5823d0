"""The state machine (``jobs.states``): the diagram in the module docstring is the table, and
every status write is a conditional UPDATE from the transition's own "from" statuses."""

from __future__ import annotations

import re

import pytest

from django_imageops.jobs import states
from django_imageops.models import ImageJob

EDGE = re.compile(r"^\s{4}(?P<sources>[a-z_, ]+?)\s+--(?P<name>\w+)-->\s+(?P<target>[a-z_]+)\b")


def diagram() -> dict[str, tuple[frozenset[str], str]]:
    """The transitions the module docstring draws, parsed (a transition drawn on several
    lines, from different statuses, is one transition)."""
    drawn: dict[str, tuple[frozenset[str], str]] = {}
    for line in states.__doc__.splitlines():
        match = EDGE.match(line)
        if match:
            sources = frozenset(s.strip() for s in match["sources"].split(","))
            earlier, target = drawn.get(match["name"], (frozenset(), match["target"]))
            assert target == match["target"], f"{match['name']} drawn to two statuses"
            drawn[match["name"]] = (earlier | sources, target)
    assert drawn, "no transitions drawn"
    return drawn


def test_the_docstring_diagram_is_the_table():
    assert diagram() == states.TRANSITIONS


def test_the_table_knows_every_status_and_finished_ones_are_left_only_by_a_retry():
    statuses = set(ImageJob.Status.values)
    used = set()
    for sources, target in states.TRANSITIONS.values():
        used |= sources | {target}
    assert used == statuses
    finished = {str(s) for s in ImageJob.FINISHED_STATUSES} - {states.SUCCEEDED}
    leaving = {name for name, (sources, _) in states.TRANSITIONS.items() if sources & finished}
    assert leaving == {"retry"}


@pytest.mark.django_db
def test_a_transition_writes_only_from_its_from_statuses():
    job = ImageJob.objects.create(operation="crop", provider="pixlab", status="canceled")
    # A worker that still thinks the job is running cannot put it back to pending.
    assert states.transition(job, "retry_later", error_code="x") is False
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("canceled", "")
    assert states.transition(job, "retry", error_code="") is True
    assert job.status == "pending"
    assert ImageJob.objects.get(pk=job.pk).status == "pending"
    with pytest.raises(KeyError):
        states.transition(job, "teleport")


@pytest.mark.django_db
def test_fields_set_later_go_with_the_next_write_and_update_never_writes_a_status():
    job = ImageJob.objects.create(operation="crop", provider="pixlab", status="running")
    states.count_attempt(job)
    assert ImageJob.objects.get(pk=job.pk).attempts == 0
    assert states.transition(job, "fail", error_code="x")
    assert ImageJob.objects.get(pk=job.pk).attempts == 1
    assert not states.has_pending_fields(job)
    with pytest.raises(ValueError):
        states.update(job, status="pending")
