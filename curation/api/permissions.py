from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated

from curation import selectors
from curation.models import Role


class ProjectRolePermission(BasePermission):
    """Checks membership (404 for outsiders) and role (403) for every project-scoped route.

    A view states `read_role` and `write_role` (and may override per action with
    `action_roles`); the project is loaded once and kept on the request.
    """

    def has_permission(self, request, view) -> bool:
        required = view.required_role(request)
        project, role = selectors.project_get_for_user(
            slug=view.kwargs["project_slug"], user=request.user, required=required
        )
        request.project = project
        request.project_role = role
        return True


class ProjectScopedMixin:
    permission_classes = [IsAuthenticated, ProjectRolePermission]
    lookup_value_regex = r"\d+"  # items are addressed by numeric id; anything else is a 404
    read_role: Role = Role.ANNOTATOR
    write_role: Role = Role.LEAD
    action_roles: dict[str, Role] = {}

    def required_role(self, request) -> Role:
        action = getattr(self, "action", None)
        if action in self.action_roles:
            return self.action_roles[action]
        return self.read_role if request.method in SAFE_METHODS else self.write_role

    @property
    def project(self):
        return self.request.project
