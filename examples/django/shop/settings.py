"""Settings of the example shop: a toy image classifier served by Django, monitored by a
visiondrift service (``visiondrift serve``) through :class:`visiondrift.client.Client`.

Everything that differs between machines comes from the environment:

- ``VISIONDRIFT_URL``: the service (default ``http://127.0.0.1:8080``);
- ``VISIONDRIFT_API_KEY``: a key with scope ``write`` (``visiondrift keys create shop --scope
  write``); ``upload_baseline`` needs one with scope ``admin`` (``--key`` or
  ``VISIONDRIFT_ADMIN_KEY``);
- ``VISIONDRIFT_DATASET``: the dataset the predictions go to (default ``fruit``);
- ``DJANGO_SECRET_KEY``, ``DJANGO_DEBUG``, ``DJANGO_ALLOWED_HOSTS``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(32)
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = ["classifier"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
ROOT_URLCONF = "shop.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
WSGI_APPLICATION = "shop.wsgi.application"
DATABASES: dict[str, Any] = {}  # the shop keeps nothing: the monitor keeps the history
USE_TZ = True
TIME_ZONE = "UTC"
# Uploaded images stay in memory: the classifier reads a few hundred kilobytes at most.
DATA_UPLOAD_MAX_MEMORY_SIZE = FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"visiondrift.client": {"handlers": ["console"], "level": "WARNING"}},
}

# --- visiondrift -----------------------------------------------------------------------------
VISIONDRIFT_URL = os.environ.get("VISIONDRIFT_URL", "http://127.0.0.1:8080")
VISIONDRIFT_API_KEY = os.environ.get("VISIONDRIFT_API_KEY")
VISIONDRIFT_DATASET = os.environ.get("VISIONDRIFT_DATASET", "fruit")
# Keyword arguments of visiondrift.client.Client: records are sent in batches of 100, or every
# second, by a background thread; a prediction never waits for the monitor.
VISIONDRIFT_CLIENT: dict[str, Any] = {"batch_size": 100, "flush_interval": 1.0, "timeout": 5.0}
