"""The help-request classifier: normalisation, red flags, the model and its files, the command, the corpus."""

import io
import json
import shutil
from collections import Counter

import joblib
import pytest
from django.core.management import call_command
from django.test import override_settings

from caregrid.cases.taxonomy import URGENCY_RANK, CaseCategory, Urgency
from caregrid.cases.triage import classify, classify_many, current, normalize, red_flags, store
from caregrid.cases.triage.corpus import CorpusError, corpus_files, read_corpus
from caregrid.cases.triage.redflags import apply_flags


@pytest.fixture(scope="session")
def first_model(tmp_path_factory):
    """A model trained once per test session by the first use in an empty var/ directory."""
    var = tmp_path_factory.mktemp("triage-var")
    with override_settings(VAR_DIR=var):
        model = current()
    return model


@pytest.fixture
def model_dir(first_model, settings, tmp_path):
    """A var/ directory of this test's own holding the first model as version 1."""
    (tmp_path / "models").mkdir()
    shutil.copy(first_model.path, tmp_path / "models" / first_model.path.name)
    settings.VAR_DIR = tmp_path
    return tmp_path / "models"


def test_normalize_turns_traditional_and_full_width_into_simplified_half_width():
    assert normalize("紫東花苑１９幢　４０５室  藥沒了！") == "紫东花苑19幢 405室 药没了!"
    assert normalize("  請幫忙聯繫網格員\n謝謝 ") == "请帮忙联系网格员 谢谢"


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("我家楼上水管爆了，水顺着吊灯往下流", "utilities"),
        ("小区卡口不让出，我明天早上要去单位上班，通行证在哪里开", "travel"),
        ("我爸瘫在床上，保姆今天走了，家里没人照顾他", "caregiving"),
        ("举报超市把一袋大米卖到一百五，哄抬物价", "complaint"),
        ("我们公司想给社区捐两箱口罩，送到哪里", "other"),
        ("请问低保申请要准备哪些材料，审批要多久", "policy"),
        ("降压药吃完了，麻烦帮忙买一盒硝苯地平", "medicine"),
        ("家里米和面都吃完了，能不能送点菜上来", "supplies"),
        ("老人腿脚不便下不了楼，能不能上门做核酸", "testing"),
        ("封控在家整夜整夜睡不着，心里很烦，想找心理老师聊聊", "mental_health"),
        ("厂子停工三个月没有收入了，房租交不起，申请困难救助", "financial_aid"),
        ("孕妇到了产检的时间，要去医院产检，怎么出去", "medical"),
    ],
)
def test_classifier_gets_clear_unseen_requests_right(model_dir, text, category):
    assert text not in {e.text for e in read_corpus()}
    assert classify(text).category == category


def test_classifier_reads_traditional_characters_like_simplified(model_dir):
    simplified = classify("小区停水两天了，家里老人孩子都等着用水")
    traditional = classify("小區停水兩天了，家裡老人孩子都等著用水")
    assert (
        (traditional.category, traditional.urgency)
        == (simplified.category, simplified.urgency)
        == (
            "utilities",
            "high",
        )
    )


def test_a_plain_question_is_not_urgent(model_dir):
    result = classify("请问社区居委会周末上班吗")
    assert result.urgency == Urgency.NORMAL
    assert result.flags == ()


def test_red_flags_name_why_a_request_is_urgent(model_dir):
    result = classify("3幢1单元202 我爸突然胸口疼 喘不上气")
    assert result.urgency == Urgency.URGENT
    codes = {f.code for f in result.flags}
    assert {"chest_pain", "breathing"} <= codes
    assert all(f.label and f.urgency == "urgent" for f in result.flags if f.code in codes)


def test_red_flags_raise_urgency_but_never_lower_it(model_dir):
    high_only = red_flags(normalize("降压药吃完了"))
    assert [f.urgency for f in high_only] == ["high"]
    assert apply_flags("normal", high_only) == "high"
    assert apply_flags("urgent", high_only) == "urgent"
    assert apply_flags("high", []) == "high"
    texts = ["降压药吃完了", "楼道里有煤气味", "请问低保怎么申请", "孩子十个月大 发烧到39度", "我老婆破水了 快来人"]
    for text, result in zip(texts, classify_many(texts), strict=True):
        floor = max((URGENCY_RANK[f.urgency] for f in result.flags), default=0)
        assert URGENCY_RANK[result.urgency] == max(URGENCY_RANK[result.model_urgency], floor)


def test_negated_or_hypothetical_symptoms_fire_no_flag():
    assert red_flags(normalize("老人没有发高烧，也没有胸闷，就是想问问核酸结果")) == []
    assert red_flags(normalize("物业把消防通道堵了，万一着火车都进不来")) == []


def test_confidence_is_a_probability_for_any_text(model_dir):
    texts = ["", "？？？", "abc", "紫东花苑", "急" * 500, "我家停电了，冰箱里的药要坏了"]
    results = classify_many(texts)
    assert len(results) == len(texts)
    for result in results:
        assert 0.0 <= result.confidence <= 1.0
        assert result.category in CaseCategory.values
        assert result.urgency in Urgency.values
        assert result.category not in result.also


def test_first_use_trains_and_saves_version_one_with_its_figures(first_model):
    info = first_model.info()
    assert info["version"] == 1
    assert info["file"] == "triage-v1.joblib" and first_model.path.is_file()
    assert info["corpus_size"] == len(read_corpus())
    assert info["corrections"] == 0
    figures = info["figures"]
    for part in ("category", "urgency", "urgency_model"):
        assert 0.5 < figures[part]["accuracy"] <= 1.0
        assert 0.4 < figures[part]["macro_f1"] <= 1.0
    assert figures["examples"] == pytest.approx(0.2 * info["corpus_size"], abs=2)
    assert set(figures["category"]["f1"]) == set(CaseCategory.values)
    assert figures["seed"] == 2022
    stored = joblib.load(first_model.path)
    assert stored["version"] == 1 and stored["figures"] == figures and stored["trained_at"]


def test_a_process_picks_up_a_newer_model_file(model_dir):
    assert current().version == 1
    data = joblib.load(model_dir / "triage-v1.joblib")
    data["version"] = 2
    joblib.dump(data, model_dir / "triage-v2.joblib")
    assert current().version == 2
    assert classify("楼道里有煤气味").urgency == "urgent"


def test_a_damaged_newest_file_leaves_the_previous_version_in_use(model_dir):
    (model_dir / "triage-v2.joblib").write_bytes(b"not a model")
    assert current().version == 1


def test_a_model_file_from_another_scikit_learn_is_replaced_by_a_fresh_one(model_dir):
    data = joblib.load(model_dir / "triage-v1.joblib")
    data["sklearn_version"] = "0.1"
    joblib.dump(data, model_dir / "triage-v1.joblib")
    replaced = current()
    assert replaced.version == 2
    assert replaced.path == model_dir / "triage-v2.joblib"


@pytest.mark.django_db
def test_retrain_makes_the_next_version_and_learns_the_corrections(model_dir):
    from caregrid.cases.models import TriageCorrection

    text = "蓝鲸幼儿园的校车今天停在三号门口"
    assert classify(text).category != "complaint"
    TriageCorrection.objects.create(text=text, category="complaint", urgency="high")
    TriageCorrection.objects.create(text="请问 紫东社区 的 党群服务中心在哪", category="policy", urgency="normal")
    retrained = store.retrain()
    assert retrained.version == 2
    assert retrained.corrections == 2
    assert (model_dir / "triage-v2.joblib").is_file()
    assert current().version == 2
    assert (classify(text).category, classify(text).urgency) == ("complaint", "high")


def test_the_command_prints_one_json_object_for_a_text(world, model_dir):
    out = io.StringIO()
    call_command("triage", "紫东花苑1幢1单元101 王秀英 降压药没了 急", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    answer = json.loads(lines[0])
    assert set(answer) >= {"category", "urgency", "confidence", "address"}
    assert answer["category"] == "medicine"
    assert answer["urgency"] in ("high", "urgent")
    assert 0 <= answer["confidence"] <= 1
    assert answer["address"]["place_id"] == world.household_a.pk
    assert set(answer["address"]) == {"compound", "building", "unit", "room", "place_id", "confidence"}


def test_the_command_prints_null_address_when_the_text_names_none(db, model_dir):
    out = io.StringIO()
    call_command("triage", "请问低保怎么申请", stdout=out)
    assert json.loads(out.getvalue())["address"] is None


def test_the_command_reads_jsonl_and_reports_bad_lines_and_goes_on(db, model_dir, tmp_path):
    source = tmp_path / "calls.jsonl"
    source.write_text(
        "\n".join(
            [
                json.dumps({"id": "a1", "text": "停电了，家里老人在用制氧机"}, ensure_ascii=False),
                "{not json",
                json.dumps({"id": 7}),
                "",
                json.dumps(["text"]),
                json.dumps({"id": 8, "text": "我们公司想给社区捐一车矿泉水，和谁联系"}, ensure_ascii=False),
            ]
        ),
        encoding="utf-8",
    )
    out = io.StringIO()
    call_command("triage", "--jsonl", str(source), stdout=out)
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [a.get("id") for a in answers] == ["a1", None, 7, None, 8]
    assert answers[0]["category"] == "utilities" and answers[0]["urgency"] == "urgent"
    assert answers[1]["line"] == 2 and answers[1]["error"]
    assert answers[2]["line"] == 3 and "text" in answers[2]["error"]
    assert answers[3]["line"] == 5
    assert answers[4]["category"] == "other" and "confidence" in answers[4]


@pytest.mark.django_db
def test_the_command_retrains_and_evaluates(model_dir):
    out = io.StringIO()
    call_command("triage", "--retrain", stdout=out)
    retrained = json.loads(out.getvalue())
    assert retrained["version"] == 2
    assert retrained["figures"]["category"]["accuracy"] > 0.5
    out = io.StringIO()
    call_command("triage", "--evaluate", stdout=out)
    assert json.loads(out.getvalue()) == retrained


def test_the_command_wants_exactly_one_thing_to_do(model_dir):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("triage", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("triage", "停水了", "--evaluate", stdout=io.StringIO())


def test_the_corpus_is_large_varied_and_valid():
    examples = read_corpus()
    assert len(examples) >= 1200
    categories = Counter(e.category for e in examples)
    assert set(categories) == set(CaseCategory.values)
    assert min(categories.values()) >= 60
    assert set(Counter(e.urgency for e in examples)) == set(Urgency.values)
    assert sum(1 for e in examples if e.also) >= 60
    raw = [json.loads(line)["text"] for path in corpus_files() for line in path.open(encoding="utf-8")]
    duplicates = [text for text, n in Counter(raw).items() if n > 1]
    assert duplicates == []


def test_a_bad_corpus_line_is_named_by_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"text": "停水了", "category": "utilities", "urgency": "high"}\n{"text": "x", "category": "nope"}\n'
    )
    with pytest.raises(CorpusError, match="bad.jsonl:2"):
        read_corpus([path])
