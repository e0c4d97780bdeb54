"""The help-request classifier (triage): category, urgency, confidence, red flags and a second need.

    from caregrid.cases.triage import classify
    classify("6幢2单元502 独居老人 降压药没了 急")  # Triage(category="medicine", urgency="high", ...)

normalize.py cleans the text, model.py holds the model (character n-grams, linear classifiers),
redflags.py the rules that raise urgency, corpus.py the training data, training.py fitting and figures,
store.py the versioned model files, classifier.py the calls above.
"""

from .classifier import classify, classify_many
from .model import Triage
from .normalize import normalize
from .redflags import FiredFlag, red_flags
from .store import ModelFile, current, retrain

__all__ = [
    "FiredFlag",
    "ModelFile",
    "Triage",
    "classify",
    "classify_many",
    "current",
    "normalize",
    "red_flags",
    "retrain",
]
