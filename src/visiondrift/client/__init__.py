"""A Python client of the visiondrift service, for the model-serving side.

:class:`Client` (threads) and :class:`AsyncClient` (asyncio) log each prediction with
``log(dataset, probabilities, ...)``; records are held per dataset and sent in batches of
``batch_size`` (at once when a batch is full, every ``flush_interval`` seconds by a background
thread or task, and by ``flush()``, ``close()`` and the end of a ``with`` block), with retries::

    from visiondrift.client import Client

    with Client("http://127.0.0.1:8080", api_key) as client:
        record_id = client.log("skin", probabilities, metadata={"site": "lyon"})
        client.label("skin", record_id, "melanoma")     # when the truth is known
        verdict = client.latest("skin")                 # the newest window's verdict

Retries: a request answered 429 (after its ``Retry-After``), 502, 503 or 504, or not answered
(connection refused or reset, timed out) is sent again up to ``retries`` times, waiting
``backoff * 2**attempt`` seconds times a random factor in [0.5, 1) (at most 60 s). Any other
error (400, 401, 403, 404, 409, 413, 422, 500) is never retried. Errors raise
:class:`~visiondrift.errors.ServiceError` with the problem's title and detail, ``.status`` and
``.problem`` (the RFC 9457 body).

What happens to a record that cannot be sent (never silently):

- A batch refused because the service was busy or unreachable (429, 502, 503, 504, connection
  errors, timeouts), after every retry, is kept in order and sent again by the next flush.
  Nothing is raised for it in the background: it is logged as a warning and ``last_error``
  holds it.
- Kept records count against ``max_pending`` (50,000 by default). When it is reached, ``log``
  refuses the new record: it raises ServiceError (or calls ``on_error``) and counts it in
  ``dropped``.
- A batch refused for another reason (401, 403, 409 when the dataset has no baseline, 413,
  422) cannot succeed when sent again: it is dropped, counted in ``dropped``, and its error is
  raised by the next ``log``, ``label``, ``flush`` or ``close`` (or given to ``on_error``).
- ``flush()`` and ``close()`` send everything held and raise when they cannot: kept records are
  still held after a failed ``flush``, and lost after a failed ``close`` (the error says how
  many). A client not closed is closed at interpreter exit.

Delivery is at least once: a request that timed out after the service received it is sent
again; each record carries an id (a random one unless given) that tells the copies apart.

May import: httpx, the standard library and :mod:`visiondrift.errors`, nothing else (no numpy:
an array of probabilities is read with its ``tolist()``; no FastAPI, no store), so that a model
server pulls in nothing more; the ``client is light`` import contract checks it.
"""

from __future__ import annotations

from visiondrift.client._async import AsyncClient
from visiondrift.client._sync import Client
from visiondrift.errors import ServiceError

__all__ = ["AsyncClient", "Client", "ServiceError"]
