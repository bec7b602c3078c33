"""``python manage.py upload_baseline``: the classifier's predictions on reference images,
profiled and uploaded as the dataset's baseline (needs a key with scope ``admin``)."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from classifier import model, monitoring


class Command(BaseCommand):
    help = "Upload the classifier's reference predictions as the dataset's visiondrift baseline."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--n", type=int, default=1000, help="reference images (default 1000)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--key", help="an admin key (default: the VISIONDRIFT_ADMIN_KEY variable)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from django.conf import settings

        from visiondrift.client import Client
        from visiondrift.errors import ServiceError
        from visiondrift.profiles import ProfileBuilder

        key = options["key"] or os.environ.get("VISIONDRIFT_ADMIN_KEY")
        if not key:
            raise CommandError(
                "upload_baseline needs a key with scope admin: --key vd_... or the "
                "VISIONDRIFT_ADMIN_KEY variable ('visiondrift keys create NAME --scope admin')."
            )
        builder = ProfileBuilder(dataset=monitoring.dataset())
        builder.set_model(model.CLASSES, {"format": "predictions", "name": "colour softmax"})
        for i, colour in enumerate(model.sample_colours(options["n"], seed=options["seed"])):
            builder.add_prediction(f"reference/{i}", model.predict(colour))
        try:
            with Client(settings.VISIONDRIFT_URL, key) as client:
                stored = client.upload_baseline(
                    monitoring.dataset(), builder.build(), name="reference"
                )
        except ServiceError as err:
            raise CommandError(str(err)) from err
        self.stdout.write(
            f"Baseline {stored.get('baseline_id')} of {monitoring.dataset()!r}: "
            f"{options['n']} reference predictions."
        )
