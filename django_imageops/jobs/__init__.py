"""The one place a job's status changes: create, run, retry, cancel, store, review.

Every interface (admin actions, the REST API, the editor view, ``DerivedImageField``, the
management commands) calls these functions; they never call a vendor themselves. The package,
by concept:

- ``states``: the transition table (its diagram in the module docstring) and ``transition``,
  the one function that writes a status;
- ``create``: ``create_jobs`` (validate everything, bulk-create, enqueue on commit);
- ``runner``: ``run_job``, the template that runs any provider (``providers.base.Provider``)
  and handles its outcome; ``context``: what the provider's steps get (``RunContext``,
  ``NowContext``);
- ``results``: storing results, reuse, ``apply_result`` (``record_applied``,
  ``record_apply_error`` for interfaces that apply a result themselves); ``spool``: a result
  kept on local disk until it is stored and recorded (whatever failed after the vendor
  answered);
- ``twins``: identical deterministic work in flight: one job calls the vendor, its identical
  twins wait for it (deferred) and reuse its result;
- ``credits``: credits per job and each vendor's balance;
- ``estimate``: ``estimate``, the price of jobs before they run (``Estimate``);
- ``budgets``: caps on the credits spent per vendor, user and batch (``BudgetStatus``);
- ``queue``: enqueueing the tasks ``django_imageops.tasks`` registers (``jobs`` never imports
  ``tasks``);
- ``actions``: ``cancel``, ``retry`` (``retry_refusal`` says why not), ``run_due``,
  ``requeue_stale``, ``resume_waiting``, ``waiting_for_budget`` (``budget_wait_reasons``: why;
  ``status_counts``: how many per status);
- ``review``: the vendor's editor (``fetch_review_result``, ``request_review_result``,
  ``record_editor_error``); ``vendor_calls``: ``refresh_credits``, ``delete_vendor_copy``.

Signals ``signals.job_succeeded`` / ``job_failed`` are sent after the commit that finished a
job; every attempt, vendor call, error, retry and stored result is an ``ImageJobEvent``.
"""

from .actions import (
    budget_wait_reasons,
    cancel,
    requeue_stale,
    resume_waiting,
    retry,
    retry_refusal,
    run_due,
    status_counts,
    waiting_for_budget,
)
from .budgets import BudgetStatus
from .create import create_jobs
from .estimate import Estimate, VendorEstimate, estimate
from .results import apply_result, record_applied, record_apply_error
from .review import fetch_review_result, record_editor_error, request_review_result
from .runner import run_job
from .vendor_calls import delete_vendor_copy, refresh_credits

__all__ = [
    "BudgetStatus",
    "Estimate",
    "VendorEstimate",
    "apply_result",
    "budget_wait_reasons",
    "cancel",
    "create_jobs",
    "delete_vendor_copy",
    "estimate",
    "fetch_review_result",
    "record_applied",
    "record_apply_error",
    "record_editor_error",
    "refresh_credits",
    "request_review_result",
    "requeue_stale",
    "resume_waiting",
    "retry",
    "retry_refusal",
    "run_due",
    "run_job",
    "status_counts",
    "waiting_for_budget",
]
