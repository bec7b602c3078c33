"""The shop's routes: predict, label (feedback) and the drift page."""

from __future__ import annotations

from classifier import views
from django.urls import path

urlpatterns = [
    path("predict", views.predict, name="predict"),
    path("label/<str:record_id>", views.label, name="label"),
    path("drift", views.drift, name="drift"),
]
