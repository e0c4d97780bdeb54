"""The triage model: character 1–2-gram TF-IDF features shared by three logistic-loss linear classifiers
trained by stochastic gradient descent — the category (its probability is the confidence), the urgency,
and the needs a call names (one-vs-rest, for the second need of a two-need call) — then the red-flag
rules on top. On the shipped corpus 1–2-grams score as well as 1–3-grams and fit several times faster;
without single characters (2–4) the scores fall by a tenth.

Character n-grams suit help requests: no word segmentation to go wrong on shorthand ("6幢502 降压药没了
急"), typos and homophones still share most of their n-grams, and Traditional input arrives normalised.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix
from scipy.special import expit
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MultiLabelBinarizer

from .corpus import Example
from .redflags import FiredFlag, apply_flags, red_flags

# Phone numbers, ID numbers and dates say nothing about the need: any run of 4+ digits is one token.
_LONG_NUMBER = re.compile(r"[0-9]{4,}")
# A second need is named when the category model ranks it second with at least ALSO_RUNNER_UP and the
# needs model gives it at least ALSO_NEED: either alone names far too many (the needs model is trained on
# few two-need calls; the runner-up of a one-need call is often just the nearest category).
ALSO_RUNNER_UP = 0.2
ALSO_NEED = 0.5


def features(text: str) -> str:
    return _LONG_NUMBER.sub("#", text.lower())


def _sgd(*, alpha: float = 3e-5, **options) -> SGDClassifier:
    # Logistic loss, so that the category has a probability; a fixed number of passes and seed keep
    # training time bounded and the model reproducible.
    return SGDClassifier(loss="log_loss", alpha=alpha, max_iter=30, tol=None, random_state=0, **options)


@dataclass(frozen=True)
class Triage:
    category: str
    urgency: str
    confidence: float  # the probability of `category`
    flags: tuple[FiredFlag, ...] = ()
    also: tuple[str, ...] = ()
    model_urgency: str = ""  # before the red flags

    def as_dict(self) -> dict:
        return {
            "category": self.category,
            "urgency": self.urgency,
            "confidence": round(self.confidence, 3),
            "also": list(self.also),
            "flags": [f.as_dict() for f in self.flags],
        }


@dataclass
class TriageModel:
    vectorizer: TfidfVectorizer
    category: SGDClassifier
    urgency: SGDClassifier
    needs: OneVsRestClassifier
    need_labels: list[str] = field(default_factory=list)

    @classmethod
    def fit(cls, examples: Sequence[Example]) -> "TriageModel":
        texts = [e.text for e in examples]
        weights = np.array([e.weight for e in examples])
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 2), preprocessor=features, dtype=np.float32)
        x = vectorizer.fit_transform(texts)
        category = _sgd()
        category.fit(x, [e.category for e in examples], sample_weight=weights)
        urgency = _sgd(alpha=3e-4, average=True, class_weight="balanced")
        urgency.fit(x, [e.urgency for e in examples], sample_weight=weights)
        binarizer = MultiLabelBinarizer()
        y_needs = binarizer.fit_transform([(e.category, *e.also) for e in examples])
        needs = OneVsRestClassifier(_sgd(class_weight="balanced"))
        needs.fit(x, y_needs)
        return cls(vectorizer, category, urgency, needs, list(binarizer.classes_))

    def _vectorize(self, texts: Sequence[str]):
        """TF-IDF rows of the texts. A few texts (the hotline's one at a time) are counted here against the
        fitted vocabulary — the same numbers as `vectorizer.transform`, without its per-call set-up."""
        if len(texts) > 16:
            return self.vectorizer.transform(texts)
        analyzer = self.__dict__.get("_analyzer")
        if analyzer is None:
            analyzer = self.__dict__["_analyzer"] = self.vectorizer.build_analyzer()
        vocabulary, idf = self.vectorizer.vocabulary_, self.vectorizer.idf_
        indptr, indices, values = [0], [], []
        for text in texts:
            counts: dict[int, int] = {}
            for gram in analyzer(text):
                j = vocabulary.get(gram)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            columns = sorted(counts)
            weights = np.array([counts[j] for j in columns], dtype=np.float64) * idf[columns]
            norm = np.sqrt(np.dot(weights, weights))
            if norm > 0:
                weights /= norm
            indices.extend(columns)
            values.extend(weights.tolist())
            indptr.append(len(indices))
        return csr_matrix(
            (np.array(values, dtype=np.float32), np.array(indices, dtype=np.int32), np.array(indptr, dtype=np.int32)),
            shape=(len(texts), len(idf)),
        )

    def _weights(self):
        """The three linear models as plain matrices: scikit-learn's per-call input validation costs more
        than the arithmetic when a single call is classified (the hotline types one text at a time)."""
        cached = self.__dict__.get("_weights_cache")
        if cached is None:
            estimators = self.needs.estimators_
            usable = self.urgency.coef_.shape[0] > 1 and all(hasattr(e, "coef_") for e in estimators)
            cached = (
                (
                    self.category.coef_.T,
                    self.category.intercept_,
                    self.urgency.coef_.T,
                    self.urgency.intercept_,
                    np.vstack([e.coef_ for e in estimators]).T,
                    np.concatenate([e.intercept_ for e in estimators]),
                )
                if usable
                else ()
            )
            self.__dict__["_weights_cache"] = cached
        return cached

    def _predict(self, x):
        """(category probabilities, urgencies, needs probabilities) — the same numbers as predict_proba and
        predict of the fitted estimators."""
        weights = self._weights()
        if not weights:
            return self.category.predict_proba(x), self.urgency.predict(x), self.needs.predict_proba(x)
        cat_w, cat_b, urg_w, urg_b, need_w, need_b = weights
        if x.shape[0] <= 16:
            x = x.toarray()  # a few dense rows multiply faster than going through the sparse machinery
        category = expit(np.asarray(x @ cat_w) + cat_b)
        category /= category.sum(axis=1, keepdims=True)
        urgencies = self.urgency.classes_[np.argmax(np.asarray(x @ urg_w) + urg_b, axis=1)]
        needs = expit(np.asarray(x @ need_w) + need_b)
        return category, urgencies, needs

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_weights_cache", None)
        state.pop("_analyzer", None)
        return state

    def triage(self, texts: Sequence[str]) -> list[Triage]:
        """Triage of normalised texts, in one pass over the batch."""
        if not texts:
            return []
        x = self._vectorize(texts)
        rows = np.arange(len(texts))
        probabilities, urgencies, needs = self._predict(x)
        ranked = np.argsort(-probabilities, axis=1)
        best, runner_up = ranked[:, 0], ranked[:, 1]
        categories = self.category.classes_[best]
        confidences = probabilities[rows, best]
        # The needs model's probability for each text's runner-up category.
        need_column = {label: j for j, label in enumerate(self.need_labels)}
        columns = np.array([need_column.get(c, -1) for c in self.category.classes_])[runner_up]
        runner_up_need = np.where(columns >= 0, needs[rows, columns], 0.0)
        second = (probabilities[rows, runner_up] >= ALSO_RUNNER_UP) & (runner_up_need >= ALSO_NEED)
        result = []
        for i, text in enumerate(texts):
            category = str(categories[i])
            also = (str(self.category.classes_[runner_up[i]]),) if second[i] else ()
            flags = red_flags(text)
            model_urgency = str(urgencies[i])
            result.append(
                Triage(
                    category=category,
                    urgency=apply_flags(model_urgency, flags),
                    confidence=float(confidences[i]),
                    flags=tuple(flags),
                    also=also,
                    model_urgency=model_urgency,
                )
            )
        return result
