from django.urls import path

from metrics import views

app_name = "metrics"

urlpatterns = [
    path("<slug:slug>/versions/", views.version_list, name="version_list"),
    path("<slug:slug>/versions/compare/", views.version_compare, name="version_compare"),
    path("<slug:slug>/versions/<int:pk>/", views.version_detail, name="version_detail"),
    path("<slug:slug>/versions/<int:pk>/act/", views.version_act, name="version_act"),
    path(
        "<slug:slug>/versions/<int:pk>/export/<str:fmt>/",
        views.version_download,
        name="version_download",
    ),
    path("<slug:slug>/dashboard/", views.dashboard, name="dashboard"),
]
