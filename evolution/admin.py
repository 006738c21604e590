from django.contrib import admin

from evolution.models import Instruction, InstructionRevision


class RevisionInline(admin.TabularInline):
    model = InstructionRevision
    extra = 0
    readonly_fields = ["number", "text", "author", "created_at"]


@admin.register(Instruction)
class InstructionAdmin(admin.ModelAdmin):
    list_display = ["id", "text", "state", "origin", "generation", "task_type", "project"]
    list_filter = ["state", "origin", "project"]
    list_select_related = ["task_type", "project"]
    search_fields = ["text"]
    inlines = [RevisionInline]
