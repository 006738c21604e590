"""HTML screens of projects, members, taxonomy, audit log and dialogues.

Views only read through selectors and write through services. Every project screen goes through
`project_view`, which checks membership and role on the server.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from curation import selectors
from curation.exceptions import ConflictError
from curation.inputs import (
    TERM_INPUTS,
    AuditFilterInput,
    MembershipAddInput,
    MembershipRoleInput,
    ProjectCreateInput,
    ProjectUpdateInput,
    validated,
)
from curation.models import TAXONOMY_MODELS, Membership, Role, Scene, ServiceRole, TaxonomyTerm
from curation.services import projects as project_services
from curation.services import taxonomy as taxonomy_services
from curation.views.common import error_messages, is_htmx, project_context, project_view

# --- projects ------------------------------------------------------------------------------------


@login_required
@require_GET
def project_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "curation/project_list.html",
        {
            "projects": selectors.project_list_for_user(user=request.user),
            "can_create": project_services.user_can_create_projects(request.user),
        },
    )


@login_required
@require_POST
def project_create(request: HttpRequest) -> HttpResponse:
    if not project_services.user_can_create_projects(request.user):
        raise PermissionDenied(_("Only site staff may create projects."))
    try:
        project = project_services.project_create(
            creator=request.user, **validated(ProjectCreateInput, request.POST)
        )
    except ValidationError as error:
        return render(
            request,
            "curation/project_list.html",
            {
                "projects": selectors.project_list_for_user(user=request.user),
                "can_create": True,
                "errors": error_messages(error),
                "values": request.POST,
            },
            status=400,
        )
    messages.success(request, _("Project created with the paper's taxonomy."))
    return redirect("curation:project_detail", slug=project.slug)


@project_view(Role.ANNOTATOR)
@require_GET
def project_detail(request: HttpRequest, project) -> HttpResponse:
    counts = {
        "members": project.memberships.count(),
        "dialogues": project.dialogues.count(),
        "scenes": project.scenes.filter(active=True).count(),
        "task_types": project.task_types.filter(active=True).count(),
    }
    return render(request, "curation/project_detail.html", project_context(request, counts=counts))


@project_view(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def project_settings(request: HttpRequest, project) -> HttpResponse:
    errors: dict = {}
    status = 200
    if request.method == "POST":
        try:
            project_services.project_update(
                project=project,
                actor=request.user,
                **validated(ProjectUpdateInput, request.POST),
            )
        except ValidationError as error:
            errors, status = error_messages(error), 400
        except ConflictError as error:
            errors, status = {"general": [str(error)]}, 409
        else:
            messages.success(request, _("Project saved."))
            return redirect("curation:project_detail", slug=project.slug)
    return render(
        request,
        "curation/project_settings.html",
        project_context(request, errors=errors, values=request.POST if errors else None),
        status=status,
    )


# --- members -------------------------------------------------------------------------------------


def _members_page(request: HttpRequest, *, errors=None, status=200) -> HttpResponse:
    return render(
        request,
        "curation/members.html",
        project_context(
            request,
            memberships=selectors.membership_list(project=request.project),
            roles=Role.choices,
            errors=errors or {},
        ),
        status=status,
    )


@project_view(Role.ANNOTATOR)
@require_GET
def member_list(request: HttpRequest, project) -> HttpResponse:
    return _members_page(request)


@project_view(Role.ADMIN)
@require_POST
def member_add(request: HttpRequest, project) -> HttpResponse:
    try:
        project_services.membership_add(
            project=project, actor=request.user, **validated(MembershipAddInput, request.POST)
        )
    except ValidationError as error:
        return _members_page(request, errors=error_messages(error), status=400)
    messages.success(request, _("Member added."))
    return redirect("curation:member_list", slug=project.slug)


@project_view(Role.ADMIN)
@require_POST
def member_update(request: HttpRequest, project, pk: int) -> HttpResponse:
    membership = get_object_or_404(Membership, pk=pk, project=project)
    try:
        # The form's two buttons: "remove" (no input) or "set_role" (the role chosen).
        if "remove" in request.POST:
            project_services.membership_remove(membership=membership, actor=request.user)
            messages.success(request, _("Member removed."))
        else:
            project_services.membership_set_role(
                membership=membership,
                actor=request.user,
                **validated(MembershipRoleInput, request.POST),
            )
            messages.success(request, _("Role changed."))
    except ValidationError as error:
        return _members_page(request, errors=error_messages(error), status=400)
    return redirect("curation:member_list", slug=project.slug)


# --- taxonomy ------------------------------------------------------------------------------------


def _taxonomy_model(kind: str) -> type[TaxonomyTerm]:
    try:
        return TAXONOMY_MODELS[kind]
    except KeyError:
        raise Http404(_("No such taxonomy kind.")) from None


def _taxonomy_sections(project) -> list[dict]:
    # Roles show their scenes and scenes their roles: one prefetch each, not one query a row.
    related = {"roles": "scenes", "scenes": "roles"}
    sections = []
    for kind, model in TAXONOMY_MODELS.items():
        terms = model.objects.filter(project=project).order_by("position", "key")
        if kind in related:
            terms = terms.prefetch_related(related[kind])
        sections.append(
            {
                "kind": kind,
                "title": model._meta.verbose_name_plural,
                "model": model,
                "terms": terms,
                **_kind_flags(kind),
            }
        )
    return sections


def _kind_flags(kind: str) -> dict:
    """What a kind's rows and forms show beyond the common fields."""
    return {
        "is_task": kind == "task-types",
        "is_role": kind == "roles",
        "is_scene": kind == "scenes",
    }


def _scene_choices(request: HttpRequest, project, kind: str, term=None) -> dict:
    """For a role's form: the project's scenes, and which are ticked (as posted after an error,
    else the role's own)."""
    if kind != "roles":
        return {}
    if request.method == "POST":
        chosen = set(request.POST.getlist("scenes"))
    elif term is not None:
        chosen = {str(pk) for pk in term.scenes.values_list("pk", flat=True)}
    else:
        chosen = set()
    scenes = Scene.objects.filter(project=project).order_by("position", "key")
    return {"scene_choices": scenes, "chosen_scenes": chosen}


@project_view(Role.ANNOTATOR)
@require_GET
def taxonomy(request: HttpRequest, project) -> HttpResponse:
    return render(
        request,
        "curation/taxonomy.html",
        project_context(request, sections=_taxonomy_sections(project)),
    )


def _term_form(request: HttpRequest, model):
    """The posted term form as its input reads it. A browser sends no unticked box: on this
    form an unticked "active" is off, and no scene ticked means the role works in none (in the
    API a field left out is left as it is)."""
    form = request.POST.copy()
    if "active" not in form:
        form["active"] = "off"
    if model is ServiceRole and "scenes" not in form:
        form["scenes"] = ""
    return form


def _term_values(request: HttpRequest, model, *, create: bool) -> dict:
    create_input, update_input = TERM_INPUTS[model]
    return validated(
        create_input if create else update_input,
        _term_form(request, model),
        project=request.project,
    )


@project_view(Role.ANNOTATOR)
@require_GET
def taxonomy_term(request: HttpRequest, project, kind: str, pk: int) -> HttpResponse:
    """One term's row: what "cancel" in the inline editor swaps back in."""
    model = _taxonomy_model(kind)
    term = get_object_or_404(model, pk=pk, project=project)
    return render(
        request,
        "curation/taxonomy.html#term-row",
        project_context(request, term=term, kind=kind, **_kind_flags(kind)),
    )


@project_view(Role.LEAD)
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def taxonomy_term_edit(request: HttpRequest, project, kind: str, pk: int) -> HttpResponse:
    model = _taxonomy_model(kind)
    term = get_object_or_404(model, pk=pk, project=project)
    context = project_context(
        request,
        term=term,
        kind=kind,
        errors={},
        **_kind_flags(kind),
        **_scene_choices(request, project, kind, term),
    )
    status = 200
    if request.method == "POST":
        try:
            changes = _term_values(request, model, create=False)
            term = taxonomy_services.taxonomy_term_update(
                term=term, revision=changes.pop("revision"), changes=changes, actor=request.user
            )
        except ValidationError as error:
            context.update(errors=error_messages(error), values=request.POST)
            status = 400
        except ConflictError as error:
            context.update(errors={"general": [str(error)]}, values=request.POST)
            status = 409
        else:
            if is_htmx(request):
                context["term"] = term
                return render(request, "curation/taxonomy.html#term-row", context)
            messages.success(request, _("Saved."))
            return redirect(reverse("curation:taxonomy", args=[project.slug]) + f"#{kind}")
    if is_htmx(request):
        # htmx swaps only 2xx answers; the form with its errors is the answer to show.
        return render(request, "curation/taxonomy.html#term-form", context)
    return render(request, "curation/taxonomy_term_edit.html", context, status=status)


@project_view(Role.LEAD)
@require_http_methods(["GET", "POST"])
def taxonomy_term_add(request: HttpRequest, project, kind: str) -> HttpResponse:
    model = _taxonomy_model(kind)
    context = project_context(
        request,
        kind=kind,
        title=model._meta.verbose_name,
        errors={},
        **_kind_flags(kind),
        **_scene_choices(request, project, kind),
    )
    status = 200
    if request.method == "POST":
        try:
            taxonomy_services.taxonomy_term_create(
                project=project,
                model=model,
                values=_term_values(request, model, create=True),
                actor=request.user,
            )
        except ValidationError as error:
            context.update(errors=error_messages(error), values=request.POST)
            status = 400
        else:
            if kind == "scenes":
                messages.success(
                    request,
                    _(
                        "Added. No role works in this scene yet: tick it on the roles that do "
                        "(Edit on a role's row)."
                    ),
                )
            else:
                messages.success(request, _("Added."))
            return redirect(reverse("curation:taxonomy", args=[project.slug]) + f"#{kind}")
    return render(request, "curation/taxonomy_term_add.html", context, status=status)


@project_view(Role.LEAD)
@require_POST
def taxonomy_term_delete(request: HttpRequest, project, kind: str, pk: int) -> HttpResponse:
    model = _taxonomy_model(kind)
    term = get_object_or_404(model, pk=pk, project=project)
    try:
        taxonomy_services.taxonomy_term_delete(term=term, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Deleted."))
    return redirect(reverse("curation:taxonomy", args=[project.slug]) + f"#{kind}")


# --- audit log -----------------------------------------------------------------------------------


@project_view(Role.LEAD)
@require_GET
def audit_log(request: HttpRequest, project) -> HttpResponse:
    try:
        action = validated(AuditFilterInput, request.GET)["action"]
    except ValidationError as error:
        return render(
            request,
            "curation/audit_log.html",
            project_context(request, page=None, action="", errors=error_messages(error)),
            status=400,
        )
    events = selectors.audit_event_list(project=project, action=action)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(
        request, "curation/audit_log.html", project_context(request, page=page, action=action)
    )
