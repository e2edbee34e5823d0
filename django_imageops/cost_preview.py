"""The operation forms' cost line: what the jobs a form would queue cost, before they are queued
("4 jobs · 4 Clipdrop credits · known balance 92").

The price itself is ``jobs.estimate`` (same arguments as ``jobs.create_jobs``; reused results
and free modes count 0). These helpers feed it a form's values, for the page's first display
(``initial_estimate``) and for the refresh the form's script asks for as the values change
(``estimate_response``: the same POST as the form's, plus ``imageops_estimate=1``). Any view
showing an ``OperationForm`` (the admin's action page, the change page's in-place panel, a
Wagtail view) uses them alike.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import JsonResponse

from . import jobs


def form_estimate(form, operation: str, objects, user) -> jobs.Estimate:
    """The cost of what the (valid) operation ``form`` would queue for ``objects``.

    Raises:
        ValidationError: as ``jobs.estimate`` (e.g. an object without an image).
    """
    return jobs.estimate(operation, objects=objects, created_by=user, **form.job_kwargs())


def initial_estimate(form, operation: str, objects, user) -> jobs.Estimate | None:
    """The cost of the unbound ``form``'s initial values for ``objects``, or ``None`` when they
    are not complete yet (e.g. a crop box still to be drawn, uncrop offsets all 0)."""
    provider, params = form.initial_values()
    try:
        return jobs.estimate(
            operation,
            objects=objects,
            field=form.chosen_field(),
            provider=provider,
            params=params,
            created_by=user,
        )
    except ValidationError:
        return None


def estimate_response(request, form, operation: str, objects) -> JsonResponse:
    """The cost line's refresh, for ``form`` bound to the page's current values.

    Returns:
        ``200 {"summary": text, "fits": bool, "estimate": Estimate.as_dict()}``, or ``400
        {"errors": {field: [messages]}}`` while the values are invalid.
    """
    if not form.is_valid():
        errors = {
            name: [e["message"] for e in items]
            for name, items in form.errors.get_json_data().items()
        }
        return JsonResponse({"errors": errors}, status=400)
    try:
        result = form_estimate(form, operation, objects, request.user)
    except ValidationError as error:
        errors = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
        return JsonResponse({"errors": errors}, status=400)
    return JsonResponse(
        {"summary": str(result.summary()), "fits": result.fits, "estimate": result.as_dict()}
    )
