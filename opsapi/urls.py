from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from coordination.views import daily_brief_page
from opsapi import pages
from opsapi.audit.views import export_view
from opsapi.schema import schema
from opsapi.views import OpsGraphQLView, healthz

urlpatterns = [
    path("", pages.landing, name="landing"),
    path("docs/<slug:name>/", pages.doc, name="doc"),
    path("favicon.ico", pages.favicon, name="favicon"),
    path("graphql/", OpsGraphQLView.as_view(schema=schema), name="graphql"),
    path("healthz", healthz, name="healthz"),
    path("audit/export/", export_view, name="audit-export"),
    path("brief/", daily_brief_page, name="daily-brief"),
    path("brief/<str:day>/", daily_brief_page, name="daily-brief"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="admin/login.html", extra_context={"site_header": "OPS API"}
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
