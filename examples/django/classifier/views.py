"""The shop's views: ``predict`` serves the model and logs each prediction to visiondrift,
``label`` passes on the true class when a customer confirms it, ``drift`` shows the dataset's
latest verdict."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from classifier import model, monitoring
from visiondrift.errors import ServiceError


@csrf_exempt  # an API for machines, authenticated (or not) by the shop's own means
@require_POST
def predict(request: HttpRequest) -> JsonResponse:
    """Classify an uploaded image (multipart field ``image``) by its mean colour."""
    upload = request.FILES.get("image")
    if upload is None:
        return JsonResponse({"error": "post an image in the multipart field 'image'"}, status=400)
    try:
        colour = model.mean_colour(upload.read())
    except model.BadImage as err:
        return JsonResponse({"error": str(err)}, status=400)
    probabilities = model.predict(colour)
    best = int(probabilities.argmax())
    # Held by the client and sent in the background: no network wait here. A numpy array is
    # fine (the client reads it with tolist()).
    record_id = monitoring.client().log(
        monitoring.dataset(),
        probabilities,
        metadata={"view": "predict", "site": request.headers.get("X-Site", "web")},
    )
    return JsonResponse(
        {
            "id": record_id,
            "label": model.CLASSES[best],
            "probabilities": dict(zip(model.CLASSES, probabilities.tolist(), strict=True)),
        }
    )


@csrf_exempt
@require_POST
def label(request: HttpRequest, record_id: str) -> JsonResponse:
    """The true class of an earlier prediction (JSON ``{"label": "leaf"}``)."""
    try:
        value = json.loads(request.body or b"{}").get("label")
    except (ValueError, AttributeError):
        value = None
    if value not in model.CLASSES:
        return JsonResponse({"error": f"label must be one of {list(model.CLASSES)}"}, status=400)
    try:
        counts = monitoring.client().label(monitoring.dataset(), record_id, value)
    except ServiceError as err:
        return JsonResponse({"error": str(err)}, status=502)
    return JsonResponse(counts)


@require_GET
def drift(request: HttpRequest) -> HttpResponse:
    """The dataset's latest verdict, read from the monitor."""
    context: dict[str, object] = {"dataset": monitoring.dataset(), "run": None, "error": None}
    try:
        context["run"] = monitoring.client().latest(monitoring.dataset())
    except ServiceError as err:
        context["error"] = str(err)
    status = 503 if context["error"] else 200
    return render(request, "classifier/drift.html", context, status=status)
