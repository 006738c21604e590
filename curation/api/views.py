from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from curation import selectors
from curation.api.permissions import ProjectScopedMixin
from curation.api.serializers import (
    AuditEventSerializer,
    DialogueSerializer,
    JobSerializer,
    MembershipSerializer,
    ProjectSerializer,
    ServiceRoleSerializer,
    TaskTypeSerializer,
    TaxonomyTermSerializer,
)
from curation.inputs import (
    TERM_INPUTS,
    DialogueFilterInput,
    DialogueImportInput,
    MembershipAddInput,
    MembershipRoleInput,
    ProjectCreateInput,
    ProjectUpdateInput,
    api_validated,
    import_upload_handlers,
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

    @extend_schema(request=ProjectCreateInput, responses={201: ProjectSerializer})
    def create(self, request):
        if not project_services.user_can_create_projects(request.user):
            raise PermissionDenied(_("Only site staff may create projects."))
        project = project_services.project_create(
            creator=request.user, **api_validated(ProjectCreateInput, request)
        )
        return Response(self.get_serializer(project).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request, project_slug: str):
        return Response(self.get_serializer(self.project).data)

    @extend_schema(request=ProjectUpdateInput, responses=ProjectSerializer)
    def update(self, request, project_slug: str):
        project = project_services.project_update(
            project=self.project, actor=request.user, **api_validated(ProjectUpdateInput, request)
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

    @extend_schema(request=MembershipAddInput, responses={201: MembershipSerializer})
    def create(self, request, project_slug: str):
        membership = project_services.membership_add(
            project=self.project, actor=request.user, **api_validated(MembershipAddInput, request)
        )
        return Response(self.get_serializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MembershipRoleInput, responses=MembershipSerializer)
    def partial_update(self, request, project_slug: str, pk: str):
        membership = self.get_object()
        membership = project_services.membership_set_role(
            membership=membership, actor=request.user, **api_validated(MembershipRoleInput, request)
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

    def create(self, request, project_slug: str):
        values = api_validated(TERM_INPUTS[self.model][0], request, project=self.project)
        term = taxonomy_services.taxonomy_term_create(
            project=self.project, model=self.model, values=values, actor=request.user
        )
        return Response(self.get_serializer(term).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, project_slug: str, pk: str):
        term = self.get_object()
        changes = api_validated(TERM_INPUTS[self.model][1], request, project=self.project)
        term = taxonomy_services.taxonomy_term_update(
            term=term, revision=changes.pop("revision"), changes=changes, actor=request.user
        )
        return Response(self.get_serializer(term).data)

    def destroy(self, request, project_slug: str, pk: str):
        taxonomy_services.taxonomy_term_delete(term=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _term_schema(model, serializer):
    """Each kind's write bodies in the schema: its own create and edit inputs."""
    create_input, update_input = TERM_INPUTS[model]
    return extend_schema_view(
        create=extend_schema(request=create_input, responses={201: serializer}),
        partial_update=extend_schema(request=update_input, responses=serializer),
    )


@_term_schema(Scene, TaxonomyTermSerializer)
class SceneViewSet(TaxonomyTermViewSet):
    model = Scene


@_term_schema(SourceType, TaxonomyTermSerializer)
class SourceTypeViewSet(TaxonomyTermViewSet):
    model = SourceType
    queryset = SourceType.objects.none()


@_term_schema(ServiceRole, ServiceRoleSerializer)
class ServiceRoleViewSet(TaxonomyTermViewSet):
    """Roles, each with `scenes`: the keys of the scenes it works in. Create and edit take
    them as a list of keys; a key that is not one of the project's scenes is a 400."""

    model = ServiceRole
    queryset = ServiceRole.objects.none()
    serializer_class = ServiceRoleSerializer

    def get_queryset(self):
        return super().get_queryset().prefetch_related("scenes")


@_term_schema(TaskType, TaskTypeSerializer)
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

    def decode_cursor(self, request):
        # DRF reads the cursor's position as text and filters ids with it: a crafted cursor
        # ("p=abc") would reach the database as a non-number. Ids are digits, nothing else.
        cursor = super().decode_cursor(request)
        position = cursor.position if cursor else None
        if position is not None and not (
            position.isascii() and position.isdigit() and len(position) <= 18
        ):
            raise NotFound(self.invalid_cursor_message)
        return cursor


class DialogueViewSet(ProjectScopedMixin, viewsets.ReadOnlyModelViewSet):
    """Dialogues, redacted; filter with ?scene=, ?source=, ?role= (keys) and ?q= (text).
    POST a file to `import/` (multipart: file, format, partial) to import dialogues."""

    serializer_class = DialogueSerializer
    queryset = Dialogue.objects.none()
    pagination_class = DialoguePagination
    filter_backends: list = []
    action_roles = {"import_file": Role.LEAD}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator's pass
            return Dialogue.objects.none()
        filters = DialogueFilterInput(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        given = filters.validated_data
        return selectors.dialogue_search(
            project=self.project,
            scene=given["scene"],
            source=given["source"],
            role=given["role"],
            text=given["q"],
        )

    @extend_schema(parameters=[DialogueFilterInput])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_object(self):
        return get_object_or_404(
            selectors.dialogue_list(project=self.project), pk=self.kwargs["pk"]
        )

    def initialize_request(self, request, *args, **kwargs):
        drf_request = super().initialize_request(request, *args, **kwargs)
        if self.action == "import_file":
            # Before anything reads the body (the session CSRF check of authentication does):
            # the file is streamed to IMPORT_UPLOAD_DIR and cut off past IMPORT_MAX_BYTES.
            self.import_upload = import_upload_handlers(request)
        return drf_request

    @extend_schema(request=DialogueImportInput, responses={202: JobSerializer})
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser])
    def import_file(self, request, project_slug: str):
        """Import a file of dialogues (multipart: file, format, partial) as a job; 202 with
        the job. A file over IMPORT_MAX_BYTES is a 400 naming the limit, refused unread."""
        serializer = DialogueImportInput(
            data=request.data, context={"upload_refused": self.import_upload.refused}
        )
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        job = import_start(
            project=self.project,
            upload=values["file"],
            filename=values["file"].name,
            fmt=values["format"],
            partial=values["partial"],
            actor=request.user,
        )
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
