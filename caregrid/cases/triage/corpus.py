"""The classifier's training examples: the shipped corpus (every caregrid/cases/data/*.jsonl) and the
operators' corrections (`TriageCorrection`).

A corpus line is one JSON object: {"text", "category", "urgency", "also": [codes]} ("also" optional: the
second need of a two-need call). A correction of a text that the corpus also holds replaces it, and a
later correction of the same text replaces an earlier one.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from caregrid.cases.taxonomy import CaseCategory, Urgency

from .normalize import normalize

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
CATEGORIES = frozenset(CaseCategory.values)
URGENCIES = frozenset(Urgency.values)
# A correction is an operator's considered judgement on a real call: it counts for more than one corpus line.
CORRECTION_WEIGHT = 3.0


class CorpusError(ValueError):
    pass


@dataclass(frozen=True)
class Example:
    text: str  # normalised
    category: str
    urgency: str
    also: tuple[str, ...] = ()
    weight: float = 1.0


def corpus_files(data_dir: Path | None = None) -> list[Path]:
    return sorted((data_dir or DATA_DIR).glob("*.jsonl"))


def read_corpus(paths: list[Path] | None = None) -> list[Example]:
    """Every record of the corpus files, checked: a bad line raises `CorpusError` naming file and line."""
    examples = []
    for path in corpus_files() if paths is None else paths:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    examples.append(_example(json.loads(line)))
                except (ValueError, TypeError, KeyError) as e:
                    raise CorpusError(f"{path.name}:{number}: {e}") from None
    return examples


def _example(record: dict) -> Example:
    text = normalize(record["text"])
    category, urgency = record["category"], record["urgency"]
    also = tuple(record.get("also") or ())
    if not text:
        raise ValueError("empty text")
    if category not in CATEGORIES or urgency not in URGENCIES:
        raise ValueError(f"unknown category or urgency: {category!r}, {urgency!r}")
    if not CATEGORIES.issuperset(also) or category in also:
        raise ValueError(f"bad also: {also!r}")
    return Example(text, category, urgency, also)


def read_corrections() -> list[Example]:
    """The operators' corrections, oldest first."""
    from caregrid.cases.models import TriageCorrection

    rows = TriageCorrection.objects.order_by("created_at", "id").values_list("text", "category", "urgency")
    return [
        Example(normalize(text), category, urgency, weight=CORRECTION_WEIGHT)
        for text, category, urgency in rows
        if normalize(text) and category in CATEGORIES and urgency in URGENCIES
    ]


def merge(corpus: list[Example], corrections: list[Example]) -> list[Example]:
    """The training set: corrections replace corpus records (and earlier corrections) of the same text."""
    by_text = {e.text: e for e in corpus}
    for correction in corrections:
        by_text.pop(correction.text, None)
        by_text[correction.text] = correction
    return list(by_text.values())
