"""`caregrid triage "TEXT" | --jsonl FILE | --retrain | --evaluate`: the help-request classifier.

`caregrid triage "6幢2单元502 独居老人 降压药没了 急"` prints one JSON object: category, urgency,
confidence, the address the text names in the registry (or null), the second need and the red flags.
`--jsonl FILE` (or `-` for standard input) reads lines {"id", "text"} and prints one such object per line,
with its id; a bad line prints {"line", "error"} and the rest go on. `--retrain` trains a new model
version from the corpus and the operators' corrections and prints its figures; `--evaluate` prints the
figures of the model in use.
"""

import json
import sys
from itertools import islice

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from caregrid.cases.triage import classify_many, current, store

BATCH = 1000  # lines classified together in --jsonl mode


def address_of(text: str) -> dict | None:
    try:
        from caregrid.places.address import match_address
    except ModuleNotFoundError as e:  # the address matcher is optional for triage itself
        if e.name != "caregrid.places.address":
            raise
        return None
    match = match_address(text)
    if match is None or not any((match.compound, match.building, match.unit, match.room, match.place_id)):
        return None
    return {
        "compound": match.compound,
        "building": match.building,
        "unit": match.unit,
        "room": match.room,
        "place_id": match.place_id,
        "confidence": round(match.confidence, 3),
    }


def answer(text: str, triage) -> dict:
    result = triage.as_dict()
    return {
        "category": result["category"],
        "urgency": result["urgency"],
        "confidence": result["confidence"],
        "address": address_of(text),
        "also": result["also"],
        "flags": result["flags"],
    }


class Command(BaseCommand):
    help = "Classify help-request texts (category, urgency, address), retrain the model or show its figures"

    def add_arguments(self, parser):
        parser.add_argument("text", nargs="?", help="one help-request text")
        parser.add_argument("--jsonl", metavar="FILE", help='lines {"id", "text"}; "-" reads standard input')
        parser.add_argument("--retrain", action="store_true", help="train a new model version and print its figures")
        parser.add_argument("--evaluate", action="store_true", help="print the figures of the model in use")

    def handle(self, *args, text, jsonl, retrain, evaluate, **options):
        chosen = [name for name, given in (("TEXT", text), ("--jsonl", jsonl), ("--retrain", retrain)) if given]
        if evaluate:
            chosen.append("--evaluate")
        if len(chosen) != 1:
            raise CommandError(_("请给出一段文字，或 --jsonl、--retrain、--evaluate 中的一项"))
        if text is not None:
            if not text.strip():
                raise CommandError(_("文字为空"))
            self._print(answer(text, classify_many([text])[0]))
        elif jsonl:
            self._jsonl(jsonl)
        elif retrain:
            self._print(store.retrain().info(), indent=2)
        else:
            self._print(current().info(), indent=2)

    def _print(self, obj: dict, *, indent: int | None = None) -> None:
        self.stdout.write(json.dumps(obj, ensure_ascii=False, indent=indent))

    def _jsonl(self, name: str) -> None:
        if name == "-":
            self._stream(sys.stdin)
            return
        try:
            with open(name, encoding="utf-8") as lines:
                self._stream(lines)
        except FileNotFoundError:
            raise CommandError(_("找不到文件：%(name)s") % {"name": name})

    def _stream(self, lines) -> None:
        numbered = enumerate(lines, 1)
        while batch := list(islice(numbered, BATCH)):
            good: list[tuple[object, str]] = []
            out: list[dict | None] = []
            for number, line in batch:
                if not line.strip():
                    continue
                record, error = _record(line)
                if error:
                    out.append({"line": number, **({"id": record["id"]} if "id" in record else {}), "error": error})
                else:
                    good.append((record.get("id"), record["text"]))
                    out.append(None)
            results = iter(classify_many([t for _id, t in good]))
            pending = iter(good)
            for item in out:
                if item is None:
                    record_id, text = next(pending)
                    item = {"id": record_id, **answer(text, next(results))}
                self._print(item)


def _record(line: str) -> tuple[dict, str | None]:
    """(the line's object, None) or (what could be read of it, why it cannot be classified)."""
    try:
        record = json.loads(line)
    except ValueError:
        return {}, _("不是有效的 JSON")
    if not isinstance(record, dict):
        return {}, _("每行应为一个 JSON 对象")
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        return record, _("缺少 text 或 text 为空")
    return record, None
