"""ViewSets of the REST API: image jobs and vendor credits.

Jobs are created, canceled and retried only through ``django_imageops.jobs``; these views
check who may do what, turn requests into those calls and jobs into JSON.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response

from .. import jobs
from ..models import ImageJob
from ..providers import provider_choices
from .estimate import EstimateSerializer
from .exceptions import JSONErrorsMixin
from .openapi import (
    OpenApiParameter,
    OpenApiResponse,
    OpenApiTypes,
    extend_schema,
    extend_schema_view,
)
from .permissions import ChallengeMixin, IsActiveAuthenticated, IsJobOwnerOrStaff, visible_jobs
from .schema import CREATE_EXAMPLES
from .serializers import (
    ImageJobCreateSerializer,
    ImageJobSerializer,
    ImageJobSourceRequestSerializer,
    ImageJobUploadRequestSerializer,
    VendorCreditsSerializer,
    drf_errors,
    job_api_url,
)
from .throttling import ImageJobCreateThrottle


class Conflict(exceptions.APIException):
    """HTTP 409: the job's state does not allow the action (e.g. canceling a finished job)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The job's state does not allow this.")
    default_code = "conflict"


class ImageJobPagination(PageNumberPagination):
    """``?page=N&page_size=M`` (default 50, at most 200 jobs a page)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class BlankableUUIDField(serializers.UUIDField):
    """A ``UUIDField`` whose empty value means "not given" (the schema says so: a UUID or
    ``""``)."""

    allow_blank = True

    def to_internal_value(self, data):
        """``""`` stays ``""`` (no filter); anything else must be a UUID."""
        if isinstance(data, str) and data == "":
            return ""
        return super().to_internal_value(data)


def _filter_choices(choices, help_text) -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=choices, required=False, allow_blank=True, help_text=help_text
    )


class ImageJobFilterSerializer(serializers.Serializer):
    """Query parameters of ``GET jobs/``; each narrows the list to one value. An empty value
    (``?status=``, as an HTML form sends an unset filter) means "any", as in the admin's
    filters; the schema allows it."""

    status = _filter_choices(ImageJob.Status.choices, _("Empty: any status."))
    operation = _filter_choices(ImageJob.Operation.choices, _("Empty: any operation."))
    batch = BlankableUUIDField(
        required=False, help_text=_("Jobs queued together. Empty: any batch.")
    )

    def get_fields(self):
        """The declared fields and ``provider``: one of the registered providers."""
        fields = super().get_fields()
        fields["provider"] = _filter_choices(provider_choices(), _("Empty: any provider."))
        return fields

    def filters(self) -> dict:
        """The validated filters that narrow the list (empty values left out)."""
        return {key: value for key, value in self.validated_data.items() if value not in ("", None)}


class DetailSerializer(serializers.Serializer):
    """Schema of DRF's error body ``{"detail": "..."}``."""

    detail = serializers.CharField()


def _error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(DetailSerializer, description=description)


_ERRORS = {
    401: _error_response("Not authenticated."),
    403: _error_response("Not allowed."),
}
_JOB_ERRORS = {**_ERRORS, 404: _error_response("No such job, or not yours.")}
_THROTTLED = {429: _error_response("Too many job requests; see Retry-After.")}
_VALIDATION = {
    400: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description="Invalid request: an object mapping field names to lists of messages.",
    )
}
_UUID = OpenApiParameter(
    "uuid", OpenApiTypes.UUID, location=OpenApiParameter.PATH, description="The job's UUID."
)
_LOCATION = OpenApiParameter(
    "Location",
    OpenApiTypes.URI,
    location=OpenApiParameter.HEADER,
    response=[202],
    description="URL of the job.",
)


@extend_schema_view(
    list=extend_schema(
        summary="List image jobs",
        description="Your jobs (staff: everyone's), newest first, paginated.",
        parameters=[ImageJobFilterSerializer],
        # Serializer classes, never instances: drf-spectacular keeps what it is given, and an
        # instance caches its fields, so the ``provider`` enum would keep the providers
        # registered when the first schema was made. ``list`` makes it a (paginated) array.
        responses={
            200: ImageJobSerializer,
            **_VALIDATION,
            **_ERRORS,
            404: _error_response("No such page."),
        },
    ),
    retrieve=extend_schema(
        summary="Get an image job",
        description="Status, parameters, result, credits and error of one job.",
        parameters=[_UUID],
        responses={200: ImageJobSerializer, **_JOB_ERRORS},
    ),
)
class ImageJobViewSet(
    ChallengeMixin,
    JSONErrorsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Image jobs: create (upload or object reference), list, retrieve, cancel, retry.

    A user sees only the jobs they created (other jobs answer 404); staff see all. Creating and
    retrying jobs, the requests that spend vendor credits, are throttled per user under the
    ``imageops_jobs`` scope (``throttling.ImageJobCreateThrottle``).
    """

    serializer_class = ImageJobSerializer
    permission_classes = [IsJobOwnerOrStaff]
    pagination_class = ImageJobPagination
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    lookup_field = "uuid"
    lookup_value_regex = (
        "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
    )
    queryset = ImageJob.objects.none()  # for schema generation; get_queryset is per user

    def get_queryset(self):
        """The user's jobs (all for staff) with what the serializer reads joined in."""
        queryset = visible_jobs(self.request.user).select_related("source_content_type")
        if self.action == "list":
            filters = ImageJobFilterSerializer(data=self.request.query_params)
            filters.is_valid(raise_exception=True)
            queryset = queryset.filter(**filters.filters())
        return queryset

    def get_throttles(self):
        """The site's default throttles, plus the ``imageops_jobs`` scope on create/retry (not on
        a dry run, which spends nothing)."""
        throttles = super().get_throttles()
        if self.action == "retry" or (self.action == "create" and not self._is_dry_run()):
            throttles.append(ImageJobCreateThrottle())
        return throttles

    def get_serializer_class(self):
        """``ImageJobCreateSerializer`` for ``create``, else ``ImageJobSerializer``."""
        if self.action == "create":
            return ImageJobCreateSerializer
        return ImageJobSerializer

    def _job_response(self, job: ImageJob, status_code: int, *, location: bool = False):
        data = ImageJobSerializer(job, context=self.get_serializer_context()).data
        headers = {}
        if location:
            url = job_api_url(self.request, job)
            if url:
                headers["Location"] = url
        return Response(data, status=status_code, headers=headers)

    def _fresh(self, job: ImageJob) -> ImageJob:
        """``job`` re-read with its content type (a task may have run it already)."""
        return ImageJob.objects.select_related("source_content_type").get(pk=job.pk)

    @extend_schema(
        summary="Create an image job",
        description=(
            "Send either a multipart request with an `image` file, or JSON naming a source "
            "object (`model` as app_label.model_name, `pk`, `field`) you may change. Invalid "
            "images and parameters are refused with 400 before any vendor call. Answers 202 "
            "with the queued job and its URL in `Location`. With `dry_run` true, nothing is "
            "created: the request is checked the same way and answered 200 with what the job "
            "would cost (the figures of the admin's cost line)."
        ),
        request={
            "application/json": ImageJobSourceRequestSerializer,
            "multipart/form-data": ImageJobUploadRequestSerializer,
        },
        examples=CREATE_EXAMPLES,
        responses={
            202: OpenApiResponse(ImageJobSerializer, description="Job queued."),
            200: OpenApiResponse(
                EstimateSerializer, description="Dry run: what the job would cost; nothing created."
            ),
            **_VALIDATION,
            **_ERRORS,
            **_THROTTLED,
        },
        parameters=[_LOCATION],
    )
    def create(self, request, *args, **kwargs):
        """Validate the request, create the job through ``jobs.create_jobs``, answer 202; with
        ``dry_run``, price it through ``jobs.estimate`` instead and answer 200."""
        serializer = ImageJobCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        kwargs = {
            "provider": data["provider"],
            "params": data["params"],
            "created_by": request.user,
        }
        if data["upload"] is not None:
            kwargs["uploads"] = [data["upload"]]
        else:
            kwargs.update(objects=[data["obj"]], field=data["field"])
        try:
            if data["dry_run"]:
                estimate = jobs.estimate(data["operation"], **kwargs)
                return Response(estimate.as_dict(), status=status.HTTP_200_OK)
            created = jobs.create_jobs(data["operation"], **kwargs)
        except DjangoValidationError as exc:
            errors = drf_errors(exc)
            source_field = data["field"]
            if source_field and source_field in errors and source_field not in request.data:
                # create_jobs names the model's image field; the request called it "field".
                errors.setdefault("field", []).extend(errors.pop(source_field))
            raise exceptions.ValidationError(errors) from exc
        return self._job_response(self._fresh(created[0]), status.HTTP_202_ACCEPTED, location=True)

    def _is_dry_run(self) -> bool:
        """Whether this create request asks for a dry run (``dry_run`` true in the body)."""
        try:
            data = self.request.data
        except exceptions.ParseError:
            return False
        value = data.get("dry_run") if isinstance(data, Mapping) else None
        if value is None:
            return False
        try:
            return bool(serializers.BooleanField().to_internal_value(value))
        except serializers.ValidationError:
            return False

    @extend_schema(
        summary="Cancel an image job",
        request=None,
        parameters=[_UUID],
        responses={
            200: ImageJobSerializer,
            409: _error_response("The job has finished."),
            **_JOB_ERRORS,
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        """Cancel a job that has not finished (``jobs.cancel``); 409 once it has."""
        job = self.get_object()
        self._transition(jobs.cancel, job, _("Only unfinished jobs can be canceled"))
        return self._job_response(self._fresh(job), status.HTTP_200_OK)

    @extend_schema(
        summary="Retry an image job",
        request=None,
        parameters=[_UUID],
        responses={
            202: ImageJobSerializer,
            409: _error_response(
                "Only failed or canceled jobs can be retried, and not one that failed on an "
                "image that has not changed since."
            ),
            **_JOB_ERRORS,
            **_THROTTLED,
        },
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, *args, **kwargs):
        """Queue a failed or canceled job again (``jobs.retry``); 409 otherwise, with
        ``jobs.retry_refusal``'s reason."""
        job = self.get_object()
        refusal = jobs.retry_refusal(job)
        if refusal:
            raise Conflict(refusal)
        self._transition(jobs.retry, job, _("Only failed or canceled jobs can be retried"))
        return self._job_response(self._fresh(job), status.HTTP_202_ACCEPTED)

    def _transition(self, func, job: ImageJob, refusal: str | Promise) -> None:
        """Run ``jobs.cancel``/``jobs.retry``; a refusal of the job's state becomes 409."""
        if not func(job):
            raise Conflict(
                _("%(refusal)s (the job is %(status)s).")
                % {"refusal": refusal, "status": job.status}
            )


class VendorCreditsViewSet(ChallengeMixin, JSONErrorsMixin, viewsets.GenericViewSet):
    """Per-vendor credit balances as last reported by the vendors (staff only)."""

    permission_classes = [IsActiveAuthenticated, IsAdminUser]
    serializer_class = VendorCreditsSerializer
    pagination_class = None

    @extend_schema(
        summary="Vendor credit balances",
        responses={200: VendorCreditsSerializer, **_ERRORS},  # a class: see ImageJobViewSet
    )
    def list(self, request, *args, **kwargs):
        """One row per vendor, ``remaining`` null until the vendor has reported a balance."""
        return Response(VendorCreditsSerializer(VendorCreditsSerializer.rows(), many=True).data)
