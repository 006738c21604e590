from rest_framework import serializers

from curation.models import (
    AuditEvent,
    Dialogue,
    Job,
    JobItem,
    Membership,
    ModelEndpoint,
    Project,
    ServiceRole,
    TaskType,
)
from curation.services.llm import ENDPOINT_FIELDS


class ProjectSerializer(serializers.ModelSerializer):
    """Read shape (writes: `ProjectCreateInput`, `ProjectUpdateInput`)."""

    class Meta:
        model = Project
        fields = [
            "slug",
            "name",
            "description",
            "domain_zh",
            "domain_en",
            "training_system_prompt",
            "created_at",
            "revision",
        ]
        read_only_fields = fields


class MembershipSerializer(serializers.ModelSerializer):
    """Read shape (writes: `MembershipAddInput`, `MembershipRoleInput`)."""

    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "username", "role", "created_at"]
        read_only_fields = fields


class TaxonomyTermSerializer(serializers.Serializer):
    """Read shape of a term; writes are read by the kind's input (curation/inputs.py)."""

    id = serializers.IntegerField(read_only=True)
    key = serializers.CharField()
    name_en = serializers.CharField()
    name_zh = serializers.CharField()
    weight = serializers.DecimalField(max_digits=8, decimal_places=3)
    position = serializers.IntegerField()
    active = serializers.BooleanField()
    revision = serializers.IntegerField(read_only=True)


class ServiceRoleSerializer(TaxonomyTermSerializer):
    """A role with the keys of the scenes it works in."""

    scenes = serializers.SlugRelatedField(many=True, read_only=True, slug_field="key")

    class Meta:
        model = ServiceRole


class TaskTypeSerializer(TaxonomyTermSerializer):
    requirements_en = serializers.ListField(child=serializers.CharField())
    requirements_zh = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = TaskType


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor",
            "action",
            "target_type",
            "target_id",
            "target_repr",
            "before",
            "after",
        ]


class DialogueSerializer(serializers.ModelSerializer):
    scene = serializers.CharField(source="scene.key", default=None)
    source = serializers.CharField(source="source.key", default=None)
    service_role = serializers.CharField(source="service_role.key", default=None)

    class Meta:
        model = Dialogue
        fields = [
            "id",
            "external_id",
            "scene",
            "source",
            "service_role",
            "turns",
            "redaction_counts",
            "created_at",
        ]


class EndpointSerializer(serializers.ModelSerializer):
    """Read shape (writes: `EndpointCreateInput`, `EndpointUpdateInput`). No API key: only
    the name of its variable."""

    class Meta:
        model = ModelEndpoint
        fields = [
            "id",
            *ENDPOINT_FIELDS,
            "last_test_ok",
            "last_test_message",
            "last_tested_at",
            "revision",
        ]
        read_only_fields = fields


class JobSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", default=None)
    percent = serializers.SerializerMethodField()
    rate_per_second = serializers.SerializerMethodField()
    eta_seconds = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "params",
            "status",
            "total",
            "done_count",
            "failed_count",
            "error_summary",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "percent",
            "rate_per_second",
            "eta_seconds",
        ]
        read_only_fields = fields

    def _progress(self, job):
        from curation.selectors import job_progress

        cache = self.context.setdefault("_progress", {})
        if job.pk not in cache:
            cache[job.pk] = job_progress(job=job)
        return cache[job.pk]

    def get_percent(self, job) -> int:
        return self._progress(job).percent

    def get_rate_per_second(self, job) -> float | None:
        return self._progress(job).rate_per_second

    def get_eta_seconds(self, job) -> int | None:
        return self._progress(job).eta_seconds


class JobItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobItem
        fields = ["id", "seq", "status", "attempts", "error", "result", "started_at", "finished_at"]
        read_only_fields = fields
