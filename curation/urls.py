from django.urls import path

from curation.views import dialogues, endpoints, jobs
from curation.views import projects as views

app_name = "curation"

urlpatterns = [
    path("", views.project_list, name="project_list"),
    path("new/", views.project_create, name="project_create"),
    path("<slug:slug>/", views.project_detail, name="project_detail"),
    path("<slug:slug>/settings/", views.project_settings, name="project_settings"),
    path("<slug:slug>/members/", views.member_list, name="member_list"),
    path("<slug:slug>/members/add/", views.member_add, name="member_add"),
    path("<slug:slug>/members/<int:pk>/", views.member_update, name="member_update"),
    path("<slug:slug>/taxonomy/", views.taxonomy, name="taxonomy"),
    path(
        "<slug:slug>/taxonomy/<slug:kind>/add/", views.taxonomy_term_add, name="taxonomy_term_add"
    ),
    path("<slug:slug>/taxonomy/<slug:kind>/<int:pk>/", views.taxonomy_term, name="taxonomy_term"),
    path(
        "<slug:slug>/taxonomy/<slug:kind>/<int:pk>/edit/",
        views.taxonomy_term_edit,
        name="taxonomy_term_edit",
    ),
    path(
        "<slug:slug>/taxonomy/<slug:kind>/<int:pk>/delete/",
        views.taxonomy_term_delete,
        name="taxonomy_term_delete",
    ),
    path("<slug:slug>/audit/", views.audit_log, name="audit_log"),
    path("<slug:slug>/dialogues/", dialogues.dialogue_list, name="dialogue_list"),
    path("<slug:slug>/dialogues/import/", dialogues.dialogue_import, name="dialogue_import"),
    path("<slug:slug>/dialogues/<int:pk>/", dialogues.dialogue_detail, name="dialogue_detail"),
    path("<slug:slug>/jobs/", jobs.job_list, name="job_list"),
    path("<slug:slug>/jobs/<int:pk>/", jobs.job_detail, name="job_detail"),
    path("<slug:slug>/jobs/<int:pk>/action/", jobs.job_action, name="job_action"),
    path("<slug:slug>/endpoints/", endpoints.endpoint_list, name="endpoint_list"),
    path("<slug:slug>/endpoints/add/", endpoints.endpoint_create, name="endpoint_create"),
    path("<slug:slug>/endpoints/<int:pk>/", endpoints.endpoint_edit, name="endpoint_edit"),
    path("<slug:slug>/endpoints/<int:pk>/test/", endpoints.endpoint_test, name="endpoint_test"),
]
