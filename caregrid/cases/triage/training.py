"""Training and evaluating the triage model.

The figures come from a held-out 20% of the examples, stratified by category with a fixed seed, scored
on what an operator sees (urgency after the red flags; the model's own urgency is reported beside it).
The model that is kept is then fitted on every example.
"""

import time
from collections.abc import Sequence

from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

from caregrid.cases.taxonomy import CaseCategory

from .corpus import Example
from .model import TriageModel

SEED = 2022
HELD_OUT = 0.2


def split(examples: Sequence[Example], *, seed: int = SEED) -> tuple[list[Example], list[Example]]:
    """(training, held-out): stratified by category; a category with fewer than two examples trains only."""
    counts: dict[str, int] = {}
    for e in examples:
        counts[e.category] = counts.get(e.category, 0) + 1
    common = [e for e in examples if counts[e.category] >= 2]
    rare = [e for e in examples if counts[e.category] < 2]
    train, test = train_test_split(common, test_size=HELD_OUT, random_state=seed, stratify=[e.category for e in common])
    return list(train) + rare, list(test)


def _scores(truth: list[str], predicted: list[str]) -> dict:
    return {
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "macro_f1": round(float(f1_score(truth, predicted, average="macro", zero_division=0)), 4),
    }


def evaluate(model: TriageModel, examples: Sequence[Example]) -> dict:
    """Accuracy and macro-F1 of category and urgency (and per-category F1) on `examples`."""
    results = model.triage([e.text for e in examples])
    truth_category = [e.category for e in examples]
    predicted_category = [r.category for r in results]
    codes = [c for c in CaseCategory.values if c in set(truth_category)]
    per_category = f1_score(truth_category, predicted_category, labels=codes, average=None, zero_division=0)
    truth_urgency = [e.urgency for e in examples]
    # Second needs: the corpus marks them only on calls written as two-need calls, so precision here is a
    # lower bound (a second need named on another call may well be real).
    named = sum(len(r.also) for r in results)
    labelled = sum(len(e.also) for e in examples)
    found = sum(len(set(r.also) & set(e.also)) for r, e in zip(results, examples, strict=True))
    return {
        "examples": len(examples),
        "category": {
            **_scores(truth_category, predicted_category),
            "f1": {code: round(float(f), 4) for code, f in zip(codes, per_category, strict=True)},
        },
        "urgency": _scores(truth_urgency, [r.urgency for r in results]),
        "urgency_model": _scores(truth_urgency, [r.model_urgency for r in results]),
        "also": {"labelled": labelled, "named": named, "found": found},
    }


def train(examples: Sequence[Example], *, seed: int = SEED) -> tuple[TriageModel, dict]:
    """(model fitted on every example, figures measured on a held-out split by a model fitted on the rest)."""
    started = time.perf_counter()
    training, held_out = split(examples, seed=seed)
    figures = evaluate(TriageModel.fit(training), held_out)
    figures["seed"] = seed
    figures["trained_on"] = len(training)
    model = TriageModel.fit(examples)
    figures["seconds"] = round(time.perf_counter() - started, 2)
    return model, figures
