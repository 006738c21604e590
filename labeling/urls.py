from django.urls import path

from labeling import views

app_name = "labeling"

urlpatterns = [
    path("<slug:slug>/labels/", views.label_home, name="label_home"),
    path("<slug:slug>/labels/start/", views.label_start, name="label_start"),
    path("<slug:slug>/labels/settings/", views.label_settings, name="label_settings"),
    path("<slug:slug>/labels/review/", views.review_queue, name="review_queue"),
    path("<slug:slug>/labels/samples/", views.sample_list, name="sample_list"),
    path("<slug:slug>/labels/<int:pk>/review/", views.review_act, name="review_act"),
    path(
        "<slug:slug>/labels/<int:pk>/regenerate/",
        views.sample_regenerate_view,
        name="sample_regenerate",
    ),
    path("<slug:slug>/labels/verify/", views.verify_queue, name="verify_queue"),
    path("<slug:slug>/labels/<int:pk>/verify/", views.verify_act, name="verify_act"),
]
