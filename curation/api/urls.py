from rest_framework.routers import DefaultRouter

from curation.api import jobs, views
from evolution.api.instructions import InstructionViewSet
from evolution.api.operators import OperatorViewSet
from evolution.api.prompts import PromptViewSet, TemplatePartViewSet
from labeling.api import SampleViewSet
from metrics.api.evaluation import EvalRunViewSet, JudgePromptViewSet, TestSetViewSet
from metrics.api.versions import VersionViewSet

router = DefaultRouter()
router.register("projects", views.ProjectViewSet, basename="project")
_P = r"projects/(?P<project_slug>[-\w]+)"
router.register(rf"{_P}/members", views.MembershipViewSet, basename="membership")
router.register(rf"{_P}/scenes", views.SceneViewSet, basename="scene")
router.register(rf"{_P}/source-types", views.SourceTypeViewSet, basename="sourcetype")
router.register(rf"{_P}/roles", views.ServiceRoleViewSet, basename="servicerole")
router.register(rf"{_P}/task-types", views.TaskTypeViewSet, basename="tasktype")
router.register(rf"{_P}/audit-events", views.AuditEventViewSet, basename="auditevent")
router.register(rf"{_P}/dialogues", views.DialogueViewSet, basename="dialogue")
router.register(rf"{_P}/endpoints", jobs.EndpointViewSet, basename="endpoint")
router.register(rf"{_P}/jobs", jobs.JobViewSet, basename="job")
router.register(rf"{_P}/instructions", InstructionViewSet, basename="instruction")
router.register(rf"{_P}/operators", OperatorViewSet, basename="operator")
router.register(rf"{_P}/template-parts", TemplatePartViewSet, basename="templatepart")
router.register(rf"{_P}/prompts", PromptViewSet, basename="prompt")
router.register(rf"{_P}/samples", SampleViewSet, basename="sample")
router.register(rf"{_P}/versions", VersionViewSet, basename="version")
router.register(rf"{_P}/test-sets", TestSetViewSet, basename="testset")
router.register(rf"{_P}/eval-runs", EvalRunViewSet, basename="evalrun")
router.register(rf"{_P}/judge-prompts", JudgePromptViewSet, basename="judgeprompt")

urlpatterns = router.urls
