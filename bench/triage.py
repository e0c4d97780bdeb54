"""Triage classifier: training time on 10,000 texts, classification throughput, held-out figures.

The 10,000 training texts are a resampling of the shipped corpus (caregrid/cases/data/*.jsonl), not new
data: records drawn with replacement (fixed seed), each lightly perturbed — its digits redrawn, building
and unit words swapped (幢/栋/号楼), punctuation and a neutral greeting or closing varied — and keeping
its labels. They measure speed only. Accuracy and macro-F1 come from the real corpus: a model fitted on a
stratified 80% and scored on the other 20% (fixed seed), as stored with every model file.
Targets: training < 30 s, classification >= 2,000 texts/s.
"""

import argparse
import random
import re
import statistics
import time

from common import emit_json, peak_rss_mib, print_table, rows_argument, setup_django

TARGET_TRAIN_S = 30.0
TARGET_RATE = 2000.0

_DIGITS = re.compile(r"[0-9]+")
_BUILDING = re.compile(r"(幢|栋|号楼)")
_OPENINGS = ["", "", "你好，", "喂，", "您好 ", "市民来电："]
_CLOSINGS = ["", "", "。", " 谢谢", "，麻烦了", "！"]


def perturb(text: str, rng: random.Random) -> str:
    text = _DIGITS.sub(lambda m: "".join(rng.choice("0123456789") for _ in m.group()), text)
    text = _BUILDING.sub(lambda m: rng.choice(["幢", "栋", "号楼"]), text)
    if rng.random() < 0.5:
        text = text.replace("，", rng.choice([" ", ",", "，", "。"]))
    return rng.choice(_OPENINGS) + text + rng.choice(_CLOSINGS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    rows_argument(parser, 10_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed classification passes (default 3)")
    parser.add_argument("--seed", type=int, default=2022)
    args = parser.parse_args()

    setup_django(migrate=False)
    from caregrid.cases.triage import classify_many, current
    from caregrid.cases.triage.corpus import Example, read_corpus
    from caregrid.cases.triage.model import TriageModel
    from caregrid.cases.triage.normalize import normalize
    from caregrid.cases.triage.training import train

    corpus = read_corpus()
    rng = random.Random(args.seed)
    resampled = []
    for _ in range(args.rows):
        record = rng.choice(corpus)
        text = normalize(perturb(record.text, rng))
        resampled.append(Example(text, record.category, record.urgency, record.also))
    print(f"corpus: {len(corpus):,} records; resampled with perturbations to {len(resampled):,} texts", flush=True)

    started = time.perf_counter()
    TriageModel.fit(resampled)
    fit_seconds = time.perf_counter() - started
    print(f"fitted on {len(resampled):,} texts in {fit_seconds:.1f} s", flush=True)

    started = time.perf_counter()
    _model, figures = train(corpus)
    corpus_train_seconds = time.perf_counter() - started
    print(f"corpus: held-out evaluation and final fit in {corpus_train_seconds:.1f} s", flush=True)

    started = time.perf_counter()
    current()  # first use: no model file in this fresh var/, so it trains one from the corpus and saves it
    first_use_seconds = time.perf_counter() - started

    texts = [perturb(e.text, rng) for e in resampled]
    classify_many(texts[:100])
    durations = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        classify_many(texts)
        durations.append(time.perf_counter() - started)
    rate = len(texts) / statistics.median(durations)

    print_table(
        ["measure", "value", "target", "ratio"],
        [
            (
                f"fit on {len(resampled):,} texts, s",
                fit_seconds,
                TARGET_TRAIN_S,
                f"{TARGET_TRAIN_S / fit_seconds:.1f}×",
            ),
            ("classify_many, texts/s", rate, TARGET_RATE, f"{rate / TARGET_RATE:.1f}×"),
            ("first use (train corpus, save), s", first_use_seconds, "", ""),
            ("category accuracy (held-out)", figures["category"]["accuracy"], "", ""),
            ("category macro-F1", figures["category"]["macro_f1"], "", ""),
            ("urgency accuracy (with red flags)", figures["urgency"]["accuracy"], "", ""),
            ("urgency macro-F1 (with red flags)", figures["urgency"]["macro_f1"], "", ""),
            ("urgency macro-F1 (model alone)", figures["urgency_model"]["macro_f1"], "", ""),
            ("peak RSS, MiB", peak_rss_mib(), "", ""),
        ],
        title=f"triage: {len(corpus):,} corpus records, held-out {figures['examples']:,} (seed {figures['seed']})",
    )
    print_table(
        ["category", "F1 (held-out)"],
        sorted(figures["category"]["f1"].items()),
    )
    emit_json(
        {
            "bench": "triage",
            "rows": args.rows,
            "corpus": len(corpus),
            "fit_s": round(fit_seconds, 2),
            "fit_ratio": round(TARGET_TRAIN_S / fit_seconds, 2),
            "texts_per_s": round(rate),
            "rate_ratio": round(rate / TARGET_RATE, 2),
            "first_use_s": round(first_use_seconds, 2),
            "category_accuracy": figures["category"]["accuracy"],
            "category_macro_f1": figures["category"]["macro_f1"],
            "urgency_accuracy": figures["urgency"]["accuracy"],
            "urgency_macro_f1": figures["urgency"]["macro_f1"],
            "peak_rss_mib": round(peak_rss_mib(), 1),
        }
    )


if __name__ == "__main__":
    main()
