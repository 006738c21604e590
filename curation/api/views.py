from __future__ import annotations

from django.shortcuts import get_object_or_404
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from curation import selectors
from curation.api.payload import payload, pop_revision
from curation.api.permissions import ProjectScopedMixin
from curation.api.serializers import (
    AuditEventSerializer,
    DialogueSerializer,
    JobSerializer,
    MembershipRoleSerializer,
    MembershipSerializer,
    ProjectSerializer,
    ProjectUpdateSerializer,
    ServiceRoleSerializer,
    TaskTypeSerializer,
    TaxonomyTermSerializer,
)
from curation.models import (
    AuditEvent,
    Dialogue,
    Membership,
    Project,
    Role,
    Scene,
    ServiceRole,
    SourceType,
    TaskType,
)
from curation.services import projects as project_services
from curation.services import taxonomy as taxonomy_services
from curation.services.imports import import_start


class ProjectViewSet(ProjectScopedMixin, viewsets.GenericViewSet):
    """Projects you belong to (site admins: all). Creating one needs site staff."""

    serializer_class = ProjectSerializer
    queryset = Project.objects.none()  # for the schema; get_queryset scopes to the user
    lookup_url_kwarg = "project_slug"
    lookup_value_regex = r"[-\w]+"
    action_roles = {"retrieve": Role.ANNOTATOR, "update": Role.ADMIN, "partial_update": Role.ADMIN}
    ordering_fields = ["name", "created_at"]

    def get_permissions(self):
        # The collection (list, create and the browsable API's OPTIONS) is not project-scoped.
        if "project_slug" not in self.kwargs:
            return [IsAuthenticated()]
        return super().get_permissions()

    def get_queryset(self):
        return selectors.project_list_for_user(user=self.request.user)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = project_services.project_create(creator=request.user, **serializer.validated_data)
        return Response(self.get_serializer(project).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request, project_slug: str):
        return Response(self.get_serializer(self.project).data)

    def update(self, request, project_slug: str):
        serializer = ProjectUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = project_services.project_update(
            project=self.project, actor=request.user, **serializer.validated_data
        )
        return Response(self.get_serializer(project).data)

    partial_update = update


class MembershipViewSet(
    ProjectScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """A project's members. Adding, changing and removing needs the project admin role."""

    serializer_class = MembershipSerializer
    queryset = Membership.objects.none()  # for the schema; get_queryset scopes to the project
    write_role = Role.ADMIN
    ordering_fields = ["role", "created_at"]
    filterset_fields = ["role"]

    def get_queryset(self):
        return selectors.membership_list(project=self.project)

    def create(self, request, project_slug: str):
        data = payload(request)
        membership = project_services.membership_add(
            project=self.project,
            username=str(data.get("username", "")),
            role=str(data.get("role", "")),
            actor=request.user,
        )
        return Response(self.get_serializer(membership).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, project_slug: str, pk: str):
        serializer = MembershipRoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = project_services.membership_set_role(
            membership=self.get_object(), role=serializer.validated_data["role"], actor=request.user
        )
        return Response(self.get_serializer(membership).data)

    def destroy(self, request, project_slug: str, pk: str):
        project_services.membership_remove(membership=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TaxonomyTermViewSet(
    ProjectScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Terms of one taxonomy kind; leads add, edit (with the revision they read) and delete."""

    model = Scene
    queryset = Scene.objects.none()  # for the schema; get_queryset scopes to the project
    serializer_class = TaxonomyTermSerializer
    ordering_fields = ["position", "key", "weight"]
    filterset_fields = ["active"]

    def get_queryset(self):
        return self.model.objects.filter(project=self.project).order_by("position", "key")

    def term_data(self, request) -> dict:
        """The request body; a form's repeated `scenes` fields kept as a list."""
        data = payload(request)
        if "scenes" in data and hasattr(request.data, "getlist"):
            data["scenes"] = request.data.getlist("scenes")
        return data

    def create(self, request, project_slug: str):
        term = taxonomy_services.taxonomy_term_create(
            project=self.project, model=self.model, data=self.term_data(request), actor=request.user
        )
        return Response(self.get_serializer(term).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, project_slug: str, pk: str):
        data = self.term_data(request)
        revision = pop_revision(data)
        term = taxonomy_services.taxonomy_term_update(
            term=self.get_object(), data=data, revision=revision, actor=request.user
        )
        return Response(self.get_serializer(term).data)

    def destroy(self, request, project_slug: str, pk: str):
        taxonomy_services.taxonomy_term_delete(term=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SceneViewSet(TaxonomyTermViewSet):
    model = Scene


class SourceTypeViewSet(TaxonomyTermViewSet):
    model = SourceType
    queryset = SourceType.objects.none()


class ServiceRoleViewSet(TaxonomyTermViewSet):
    """Roles, each with `scenes`: the keys of the scenes it works in. Create and edit take
    them as a list of keys; a key that is not one of the project's scenes is a 400."""

    model = ServiceRole
    queryset = ServiceRole.objects.none()
    serializer_class = ServiceRoleSerializer

    def get_queryset(self):
        return super().get_queryset().prefetch_related("scenes")


class TaskTypeViewSet(TaxonomyTermViewSet):
    model = TaskType
    queryset = TaskType.objects.none()
    serializer_class = TaskTypeSerializer


class AuditEventViewSet(ProjectScopedMixin, viewsets.ReadOnlyModelViewSet):
    """The project's audit log (leads and project admins)."""

    serializer_class = AuditEventSerializer
    queryset = AuditEvent.objects.none()
    read_role = Role.LEAD
    ordering_fields = ["created_at"]
    filterset_fields = ["action", "target_type", "target_id"]

    def get_queryset(self):
        return selectors.audit_event_list(project=self.project)


class DialoguePagination(CursorPagination):
    """Pages by id, never counting: fast at a million dialogues."""

    ordering = "-id"
    page_size = 50


class DialogueViewSet(ProjectScopedMixin, viewsets.ReadOnlyModelViewSet):
    """Dialogues, redacted; filter with ?scene=, ?source=, ?role= (keys) and ?q= (text).
    POST a file to `import/` (multipart: file, format, partial) to import dialogues."""

    serializer_class = DialogueSerializer
    queryset = Dialogue.objects.none()
    pagination_class = DialoguePagination
    filter_backends: list = []
    action_roles = {"import_file": Role.LEAD}

    def get_queryset(self):
        params = self.request.query_params
        return selectors.dialogue_search(
            project=self.project,
            scene=params.get("scene", ""),
            source=params.get("source", ""),
            role=params.get("role", ""),
            text=params.get("q", ""),
        )

    def get_object(self):
        return get_object_or_404(
            selectors.dialogue_list(project=self.project), pk=self.kwargs["pk"]
        )

    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser])
    def import_file(self, request, project_slug: str):
        upload = request.FILES.get("file")
        if upload is None:
            return Response({"file": ["Send the file as multipart field 'file'."]}, status=400)
        job = import_start(
            project=self.project,
            data=upload.read(),
            filename=upload.name,
            fmt=str(request.data.get("format", "")),
            partial=str(request.data.get("partial", "")).lower() in ("1", "true", "on"),
            actor=request.user,
        )
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
