from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="curation:project_list"), name="home"),
    # Log in and out only: accounts are made by admins, there is no self-registration.
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/", include("curation.api.urls")),
    path("api-auth/", include("rest_framework.urls")),
    path("p/", include("curation.urls")),
    path("p/", include("evolution.urls")),
    path("p/", include("labeling.urls")),
    path("p/", include("metrics.urls")),
]
