"""API of model endpoints and jobs."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from curation import selectors
from curation.api.permissions import ProjectScopedMixin
from curation.api.serializers import EndpointSerializer, JobItemSerializer, JobSerializer
from curation.inputs import EndpointCreateInput, EndpointUpdateInput, api_validated
from curation.models import Job, JobItem, ModelEndpoint, Role
from curation.services import jobs as job_services
from curation.services import llm as llm_services


class EndpointViewSet(
    ProjectScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Model endpoints. Adding one or changing a base URL needs a site admin; other edits the
    project admin role (send the revision you read). `test` checks the connection as a job."""

    serializer_class = EndpointSerializer
    queryset = ModelEndpoint.objects.none()
    write_role = Role.ADMIN
    action_roles = {"test": Role.LEAD}
    ordering_fields = ["name"]

    def get_queryset(self):
        return selectors.endpoint_list(project=self.project)

    @extend_schema(request=EndpointCreateInput, responses={201: EndpointSerializer})
    def create(self, request, project_slug: str):
        if not llm_services.user_can_add_endpoints(request.user):
            raise PermissionDenied(_("Only site admins may add endpoints or set base URLs."))
        endpoint = llm_services.endpoint_create(
            project=self.project,
            values=api_validated(EndpointCreateInput, request),
            actor=request.user,
        )
        return Response(self.get_serializer(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=EndpointUpdateInput, responses=EndpointSerializer)
    def partial_update(self, request, project_slug: str, pk: str):
        endpoint = self.get_object()
        changes = api_validated(EndpointUpdateInput, request)
        endpoint = llm_services.endpoint_update(
            endpoint=endpoint, revision=changes.pop("revision"), changes=changes, actor=request.user
        )
        return Response(self.get_serializer(endpoint).data)

    @action(detail=True, methods=["get"])
    def usage(self, request, project_slug: str, pk: str):
        """Calls, cached and failed calls, tokens and cost recorded for this endpoint."""
        endpoint = self.get_object()
        empty = {
            "calls": 0,
            "cached": 0,
            "failed": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "cost": None,
        }
        return Response(selectors.endpoint_usage(project=self.project).get(endpoint.pk, empty))

    @extend_schema(request=None, responses={202: JobSerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, project_slug: str, pk: str):
        job = llm_services.endpoint_test(endpoint=self.get_object(), actor=request.user)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class JobViewSet(ProjectScopedMixin, viewsets.ReadOnlyModelViewSet):
    """Jobs with their progress; leads cancel, pause, resume and retry failed items."""

    serializer_class = JobSerializer
    queryset = Job.objects.none()
    ordering_fields = ["created_at", "status"]
    filterset_fields = ["status", "kind"]

    def get_queryset(self):
        return selectors.job_list(project=self.project)

    def _act(self, service):
        job = service(job=self.get_object(), actor=self.request.user)
        return Response(self.get_serializer(job).data)

    @extend_schema(request=None, responses=JobSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, project_slug: str, pk: str):
        return self._act(job_services.job_cancel)

    @extend_schema(request=None, responses=JobSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, project_slug: str, pk: str):
        return self._act(job_services.job_pause)

    @extend_schema(request=None, responses=JobSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, project_slug: str, pk: str):
        return self._act(job_services.job_resume)

    @extend_schema(request=None, responses=JobSerializer)
    @action(detail=True, methods=["post"], url_path="retry-failed")
    def retry_failed(self, request, project_slug: str, pk: str):
        return self._act(job_services.job_retry_failed)

    @action(detail=True, methods=["get"])
    def items(self, request, project_slug: str, pk: str):
        """The job's items; `?status=failed` lists the failures with their reasons."""
        # Not get_object(): the job list's own filters (?status=) must not apply to the job.
        job = selectors.job_get(project=self.project, pk=int(pk))
        items = JobItem.objects.filter(job=job).order_by("seq")
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in JobItem.Status.values:
                return Response(
                    {"status": [f"Use one of {', '.join(JobItem.Status.values)}."]},
                    status=status.HTTP_400_BAD_REQUEST,
                )
            items = items.filter(status=wanted)
        page = self.paginate_queryset(items)
        return self.get_paginated_response(JobItemSerializer(page, many=True).data)
