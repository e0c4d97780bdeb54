"""Triage of help-request texts with the model in use: `classify(text)`, `classify_many(texts)`."""

from collections.abc import Iterable

from .model import Triage
from .normalize import normalize
from .store import current


def classify_many(texts: Iterable[str]) -> list[Triage]:
    """Category, urgency (red flags applied), confidence, fired flags and a second need, for each text.

    One pass of the model over the whole batch: prefer it to calling `classify` in a loop."""
    return current().model.triage([normalize(t) for t in texts])


def classify(text: str) -> Triage:
    return classify_many([text])[0]
