import factory
from django.contrib.auth import get_user_model

from curation.models import Dialogue, Membership, Project, Role

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.Sequence(lambda n: f"project-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.ANNOTATOR


class DialogueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dialogue

    project = factory.SubFactory(ProjectFactory)
    external_id = factory.Sequence(lambda n: f"d{n}")
    turns = factory.LazyFunction(
        lambda: [
            {"speaker": "经纪人", "role": "agent", "text": "您好，想看哪个小区的房子？"},
            {"speaker": "客户", "role": "customer", "text": "望京附近的两居室。"},
        ]
    )


class InstructionFactory(factory.django.DjangoModelFactory):
    """An instruction of the project's first task type; accepted unless told otherwise."""

    class Meta:
        model = "evolution.Instruction"

    project = factory.SubFactory(ProjectFactory)
    task_type = factory.LazyAttribute(lambda o: o.project.task_types.order_by("id").first())
    text = factory.Sequence(lambda n: f"判断第{n}段对话中客户是否有明确的看房意向，并给出依据。")
    state = "accepted"


class TemplatePartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "evolution.TemplatePart"

    project = factory.SubFactory(ProjectFactory)
    kind = "guidelines"
    name = factory.Sequence(lambda n: f"part {n}")
    text = "只依据对话作答。"
