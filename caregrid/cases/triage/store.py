"""Model files: `VAR_DIR/models/triage-v<N>.joblib`, one per trained version, the highest in use.

A file holds the fitted model with its version, when it was trained, on how many corpus records and
corrections, and its evaluation figures. The first use in a place without a model trains one from the
shipped corpus. Training runs under an exclusive lock on `models/.train.lock`, so two processes never
train the first model twice nor claim the same version, and a file appears only whole (written beside
its final name, then renamed). Each process keeps the model it loaded and reloads when a newer version
appears (the directory is listed on each call: a few entries, as the oldest versions are removed).
"""

import contextlib
import datetime as dt
import fcntl
import logging
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import joblib
import sklearn
from django.conf import settings

from . import corpus
from .model import TriageModel
from .training import train

logger = logging.getLogger(__name__)

_FILE = re.compile(r"^triage-v([0-9]+)\.joblib$")
FORMAT = 1
KEEP = 5  # model files kept; older ones are removed after a new version is saved


@dataclass(frozen=True)
class ModelFile:
    version: int
    trained_at: str  # ISO 8601, UTC
    corpus_size: int
    corrections: int
    figures: dict
    sklearn_version: str
    model: TriageModel
    path: Path | None = None

    def info(self) -> dict:
        """Everything but the model itself, for the command line and the API."""
        return {
            "version": self.version,
            "trained_at": self.trained_at,
            "corpus_size": self.corpus_size,
            "corrections": self.corrections,
            "figures": self.figures,
            "file": self.path.name if self.path else None,
        }


def models_dir() -> Path:
    return Path(settings.VAR_DIR) / "models"


def versions(directory: Path | None = None) -> list[tuple[int, Path]]:
    """(version, path) of every model file, oldest first."""
    directory = directory or models_dir()
    if not directory.is_dir():
        return []
    found = []
    for entry in os.scandir(directory):
        match = _FILE.match(entry.name)
        if match:
            found.append((int(match.group(1)), Path(entry.path)))
    return sorted(found)


def load(path: Path) -> ModelFile:
    data = joblib.load(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path.name}: not a triage model file")
    return ModelFile(
        version=data["version"],
        trained_at=data["trained_at"],
        corpus_size=data["corpus_size"],
        corrections=data["corrections"],
        figures=data["figures"],
        sklearn_version=data["sklearn_version"],
        model=data["model"],
        path=path,
    )


@contextlib.contextmanager
def _training_lock():
    directory = models_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".train.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield directory
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _train_and_save(directory: Path, *, with_corrections: bool) -> ModelFile:
    """Train on the corpus (and the corrections) and save as the next version. Call under the lock."""
    shipped = corpus.read_corpus()
    corrections = corpus.read_corrections() if with_corrections else []
    model, figures = train(corpus.merge(shipped, corrections))
    existing = versions(directory)
    version = existing[-1][0] + 1 if existing else 1
    trained_at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    data = {
        "format": FORMAT,
        "version": version,
        "trained_at": trained_at,
        "corpus_size": len(shipped),
        "corrections": len(corrections),
        "figures": figures,
        "sklearn_version": sklearn.__version__,
        "model": model,
    }
    path = directory / f"triage-v{version}.joblib"
    fd, temporary = tempfile.mkstemp(prefix=".triage-", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, 0o644)  # readable by the web and worker processes, whoever ran the training
        with os.fdopen(fd, "wb") as out:
            joblib.dump(data, out, compress=3)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    for _old, old_path in versions(directory)[:-KEEP]:
        old_path.unlink(missing_ok=True)
    logger.info("triage model v%s trained on %s records and %s corrections", version, len(shipped), len(corrections))
    return load(path)


def retrain(*, with_corrections: bool = True) -> ModelFile:
    """Train a new version from the corpus and the operators' corrections; it is used from then on."""
    with _training_lock() as directory:
        trained = _train_and_save(directory, with_corrections=with_corrections)
    _cache.remember(trained)
    return trained


def _usable(found: list[tuple[int, Path]]) -> ModelFile | None:
    """The newest model file this installation can use (a file pickled by another scikit-learn is not)."""
    for _version, path in reversed(found):
        try:
            candidate = load(path)
        except Exception:  # a damaged or foreign file must not stop triage; the next one down may do
            logger.exception("triage model %s cannot be loaded", path.name)
            continue
        if candidate.sklearn_version == sklearn.__version__:
            return candidate
        logger.warning("triage model %s was trained with scikit-learn %s", path.name, candidate.sklearn_version)
    return None


class _Cache:
    """The model this process uses, and the newest file name it was chosen from."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.model: ModelFile | None = None
        self.newest: Path | None = None

    def remember(self, model: ModelFile) -> None:
        with self.lock:
            self.model, self.newest = model, model.path

    def current(self) -> ModelFile:
        directory = models_dir()
        found = versions(directory)
        newest = found[-1][1] if found else None
        with self.lock:
            if self.model is not None and newest is not None and newest == self.newest:
                return self.model
            model = _usable(found)
            if model is None:
                with _training_lock():
                    # Another process may have trained it while this one waited for the lock.
                    model = _usable(versions(directory)) or _train_and_save(directory, with_corrections=False)
                newest = versions(directory)[-1][1]
            self.model, self.newest = model, newest
            return model


_cache = _Cache()


def current() -> ModelFile:
    """The model in use: the newest usable version, trained from the shipped corpus if there is none."""
    return _cache.current()
