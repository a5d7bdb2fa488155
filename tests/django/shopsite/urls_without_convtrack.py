"""A project that installed the app but not its URLs (the admin must still work)."""

from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
