from django.contrib import admin

from curation.models import (
    AuditEvent,
    Dialogue,
    Job,
    Membership,
    ModelEndpoint,
    Project,
    Scene,
    ServiceRole,
    SourceType,
    TaskType,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Scene, SourceType, ServiceRole, TaskType)
class TaxonomyTermAdmin(admin.ModelAdmin):
    list_display = ["key", "name_en", "name_zh", "weight", "active", "project"]
    list_filter = ["project", "active"]
    search_fields = ["key", "name_en", "name_zh"]


@admin.register(Dialogue)
class DialogueAdmin(admin.ModelAdmin):
    list_display = ["external_id", "project", "scene", "source", "created_at"]
    list_filter = ["project"]
    list_select_related = ["project", "scene", "source"]
    search_fields = ["external_id"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is only ever appended to."""

    list_display = ["created_at", "actor", "action", "target_repr", "project"]
    list_filter = ["action", "project"]
    list_select_related = ["actor", "project"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ModelEndpoint)
class ModelEndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "model", "base_url", "project", "max_concurrency", "last_test_ok"]
    list_filter = ["project"]
    list_select_related = ["project"]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "done_count", "failed_count", "total", "project"]
    list_filter = ["kind", "status", "project"]
    list_select_related = ["project"]
    readonly_fields = ["result", "params"]
