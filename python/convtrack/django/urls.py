# mypy: disable-error-code="import-untyped,import-not-found,misc,untyped-decorator,no-any-return"
"""``path("convtrack/", include("convtrack.django.urls"))`` -> the status page at ``convtrack/status/``
(URL name ``convtrack:status``) and the controls dashboard at ``convtrack/controls/``
(URL name ``convtrack:controls``)."""

from django.urls import path

from convtrack.django import views

app_name = "convtrack"

urlpatterns = [
    path("status/", views.status, name="status"),
    path("controls/", views.controls, name="controls"),
]
