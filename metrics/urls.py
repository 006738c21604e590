from django.urls import path

from metrics.views import evaluation, versions

app_name = "metrics"

urlpatterns = [
    path("<slug:slug>/versions/", versions.version_list, name="version_list"),
    path("<slug:slug>/versions/compare/", versions.version_compare, name="version_compare"),
    path("<slug:slug>/versions/<int:pk>/", versions.version_detail, name="version_detail"),
    path("<slug:slug>/versions/<int:pk>/act/", versions.version_act, name="version_act"),
    path(
        "<slug:slug>/versions/<int:pk>/export/<str:fmt>/",
        versions.version_download,
        name="version_download",
    ),
    path("<slug:slug>/dashboard/", versions.dashboard, name="dashboard"),
    path("<slug:slug>/evaluation/", evaluation.evaluation_home, name="evaluation"),
    path("<slug:slug>/evaluation/testsets/", evaluation.testset_new, name="testset_new"),
    path(
        "<slug:slug>/evaluation/testsets/<int:pk>/",
        evaluation.testset_detail,
        name="testset_detail",
    ),
    path("<slug:slug>/evaluation/runs/", evaluation.run_new, name="run_new"),
    path("<slug:slug>/evaluation/runs/<int:pk>/", evaluation.run_detail, name="run_detail"),
    path("<slug:slug>/evaluation/runs/<int:pk>/act/", evaluation.run_act, name="run_act"),
    path(
        "<slug:slug>/evaluation/runs/<int:pk>/answers/<int:answer_pk>/",
        evaluation.answer_detail,
        name="answer_detail",
    ),
    path(
        "<slug:slug>/evaluation/runs/<int:pk>/export.<str:fmt>",
        evaluation.run_export,
        name="run_export",
    ),
    path("<slug:slug>/evaluation/judge-prompt/", evaluation.judge_prompt, name="judge_prompt"),
]
