from django.contrib.auth import get_user_model
from rest_framework import serializers

from curation.models import AuditEvent, Dialogue, Membership, Project, Role, TaskType


class ProjectSerializer(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = ["slug", "name", "description", "created_at", "revision"]
        read_only_fields = ["created_at", "revision"]
        extra_kwargs = {"slug": {"required": False, "validators": []}}


class ProjectUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, required=False, default="")
    revision = serializers.IntegerField(help_text="The revision you read; a newer one is a 409.")


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.SlugRelatedField(
        source="user", slug_field="username", queryset=get_user_model().objects.all()
    )

    class Meta:
        model = Membership
        fields = ["id", "username", "role", "created_at"]
        read_only_fields = ["id", "created_at"]


class MembershipRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class TaxonomyTermSerializer(serializers.Serializer):
    """Read shape of a term; writes go through the taxonomy services, which validate."""

    id = serializers.IntegerField(read_only=True)
    key = serializers.CharField()
    name_en = serializers.CharField()
    name_zh = serializers.CharField()
    weight = serializers.DecimalField(max_digits=8, decimal_places=3)
    position = serializers.IntegerField()
    active = serializers.BooleanField()
    revision = serializers.IntegerField(read_only=True)


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

    class Meta:
        model = Dialogue
        fields = ["id", "external_id", "scene", "source", "turns", "metadata", "created_at"]
