"""The classifier app; its client of the monitor is closed (flushed) when the process ends."""

from __future__ import annotations

from django.apps import AppConfig


class ClassifierConfig(AppConfig):
    name = "classifier"

    def ready(self) -> None:
        from django.core.signals import setting_changed

        from classifier import monitoring

        # A test that overrides VISIONDRIFT_* gets a client made from the new settings.
        setting_changed.connect(monitoring.on_setting_changed)
