"""Settings of the test shop: a new Django project set up by following docs/django.md."""

import json
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "test-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "shop.example", "localhost", "127.0.0.1"]

INSTALLED_APPS = [
    "convtrack.django",  # docs/django.md step 2: before django.contrib.admin (admin link)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "shop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "convtrack.django.middleware.ConvtrackMiddleware",  # step 3
]

ROOT_URLCONF = "shopsite.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
# SHOP_DB: the browser test (tests/browser) runs this project under runserver with its own database.
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ.get("SHOP_DB") or BASE_DIR / "db.sqlite3"}}
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

# Step 4. The tests point "endpoint" at the loopback sandbox and use a fresh outbox per test;
# `manage.py check` tests pass a whole CONVTRACK dict as JSON in SHOP_CONVTRACK.
CONVTRACK = {
    "pixel_id": "1234567890",
    "access_token": os.environ.get("SHOP_META_TOKEN", "sandbox-token"),
    "data_controls": True,
    "catalog_id": "555000111",
    "catalog_name": "Test shop catalog",
    "default_country": "GB",
    "outbox_path": str(BASE_DIR / "convtrack-outbox.sqlite3"),
    "consent": "shop.consent.from_cookie",
    "trusted_proxies": 0,
}
if os.environ.get("SHOP_CONVTRACK"):
    CONVTRACK = json.loads(os.environ["SHOP_CONVTRACK"])
