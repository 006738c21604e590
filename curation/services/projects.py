from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from curation.models import Membership, Project, Role
from curation.services.audit import audit_record, audit_snapshot
from curation.services.revisions import revision_update
from curation.services.taxonomy import taxonomy_seed_project

_PROJECT_FIELDS = [
    "name",
    "slug",
    "description",
    "domain_zh",
    "domain_en",
    "training_system_prompt",
]
SLUG_LENGTH = Project._meta.get_field("slug").max_length


def user_can_create_projects(user) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user.is_staff))


@transaction.atomic
def project_create(
    *,
    name: str,
    creator,
    slug: str = "",
    description: str = "",
    domain_zh: str = "",
    domain_en: str = "",
) -> Project:
    """Create a project with the paper's taxonomy; its creator becomes its project admin. The
    values come typed and bounded from `ProjectCreateInput`; the slug is made from the name
    when none is given."""
    if not user_can_create_projects(creator):
        raise PermissionDenied(_("Only site staff may create projects."))
    # A slug made from a long name is cut to the column's length (never across a hyphen's end).
    slug = slugify(slug or name)[:SLUG_LENGTH].strip("-")
    if not slug:
        raise ValidationError({"slug": _("Give the project a slug of latin letters or digits.")})
    if Project.objects.filter(slug=slug).exists():
        raise ValidationError(
            {"slug": _("A project with the slug “%(slug)s” exists.") % {"slug": slug}}
        )
    project = Project.objects.create(
        name=name,
        slug=slug,
        description=description,
        domain_zh=domain_zh,
        domain_en=domain_en,
        created_by=creator,
    )
    Membership.objects.create(project=project, user=creator, role=Role.ADMIN)
    taxonomy_seed_project(project=project)
    audit_record(
        actor=creator,
        action="project.create",
        target=project,
        project=project,
        after=audit_snapshot(project, _PROJECT_FIELDS),
    )
    return project


@transaction.atomic
def project_update(
    *,
    project: Project,
    actor,
    revision: int,
    name: str,
    description: str | None = None,
    domain_zh: str | None = None,
    domain_en: str | None = None,
    training_system_prompt: str | None = None,
) -> Project:
    """Rename or describe a project, set its domain and the system prompt of its training data;
    refused if someone else saved it since `revision`. None leaves a setting as it is. The
    values come typed and bounded from `ProjectUpdateInput`."""
    changes = {"name": name}
    for field, value in (
        ("description", description),
        ("domain_zh", domain_zh),
        ("domain_en", domain_en),
        ("training_system_prompt", training_system_prompt),
    ):
        if value is not None:
            changes[field] = value
    before = audit_snapshot(project, _PROJECT_FIELDS)
    revision_update(
        instance=project,
        revision=revision,
        conflict=_("Someone else changed this project since you opened it; reload."),
        **changes,
    )
    audit_record(
        actor=actor,
        action="project.update",
        target=project,
        project=project,
        before=before,
        after=audit_snapshot(project, _PROJECT_FIELDS),
    )
    return project


def _get_user(username: str):
    User = get_user_model()
    try:
        return User.objects.get(username=username, is_active=True)
    except User.DoesNotExist:
        raise ValidationError(
            {"username": _("No active user is called “%(name)s”.") % {"name": username}}
        ) from None


def _admin_count(project: Project) -> int:
    return Membership.objects.filter(project=project, role=Role.ADMIN).count()


@transaction.atomic
def membership_add(*, project: Project, username: str, role: Role, actor) -> Membership:
    """Add the active user called `username` (`MembershipAddInput`) with `role`."""
    user = _get_user(username)
    role = Role(role)
    try:
        with transaction.atomic():
            membership = Membership.objects.create(project=project, user=user, role=role)
    except IntegrityError:
        raise ValidationError(
            {"username": _("%(name)s is already a member.") % {"name": user.username}}
        ) from None
    audit_record(
        actor=actor,
        action="membership.add",
        target=membership,
        project=project,
        after={"user": user.username, "role": role.value},
    )
    return membership


@transaction.atomic
def membership_set_role(*, membership: Membership, role: Role, actor) -> Membership:
    role = Role(role)
    # Lock the project's memberships so two admins demoting each other cannot leave none.
    locked = Membership.objects.select_for_update().filter(project=membership.project_id)
    membership = locked.get(pk=membership.pk)
    before = {"user": membership.user.username, "role": membership.role}
    if (
        membership.role == Role.ADMIN
        and role != Role.ADMIN
        and _admin_count(membership.project) <= 1
    ):
        raise ValidationError({"role": _("A project keeps at least one project admin.")})
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        actor=actor,
        action="membership.set_role",
        target=membership,
        project=membership.project,
        before=before,
        after={"user": membership.user.username, "role": role.value},
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor) -> None:
    locked = Membership.objects.select_for_update().filter(project=membership.project_id)
    membership = locked.get(pk=membership.pk)
    if membership.role == Role.ADMIN and _admin_count(membership.project) <= 1:
        raise ValidationError(_("A project keeps at least one project admin."))
    audit_record(
        actor=actor,
        action="membership.remove",
        target=membership,
        project=membership.project,
        before={"user": membership.user.username, "role": membership.role},
    )
    membership.delete()
