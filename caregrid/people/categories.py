"""The categories a new installation starts with (code, Chinese name, English name, group, synonyms)."""

DEFAULT_CATEGORIES = [
    ("elderly_alone", "独居老人", "Elderly living alone", "elderly", ["独居", "独居老年人", "独居长者"]),
    ("elderly_empty_nest", "空巢老人", "Empty-nest elderly", "elderly", ["空巢", "空巢老年人"]),
    ("elderly_no_family", "孤寡老人", "Elderly without family", "elderly", ["孤寡", "孤老", "五保老人"]),
    ("elderly_advanced_age", "高龄老人", "Elderly of advanced age", "elderly", ["高龄", "80岁以上老人", "耄耋老人"]),
    ("elderly_disabled", "失能老人", "Disabled elderly", "elderly", ["失能", "半失能老人", "失能半失能老人"]),
    ("child_hardship", "困境儿童", "Child in hardship", "child", ["困境", "事实无人抚养儿童"]),
    ("child_left_behind", "留守儿童", "Left-behind child", "child", ["留守"]),
    ("dibao", "低保", "Minimum living allowance (dibao)", "assistance", ["低保户", "低保对象", "城乡低保"]),
    ("tekun", "特困", "Extreme poverty (tekun)", "assistance", ["特困人员", "特困供养", "特困供养人员"]),
    ("disability_severe", "重度残疾", "Severe disability", "disability", ["重残", "重度残疾人", "一二级残疾"]),
    ("disability", "残疾人", "Disability", "disability", ["残疾", "持证残疾人"]),
    ("pregnant", "孕产妇", "Pregnant or postpartum woman", "health", ["孕妇", "产妇", "孕期"]),
    ("infant", "婴幼儿", "Infant", "child", ["婴儿", "幼儿", "0-3岁婴幼儿"]),
    ("chronic_illness", "慢性病", "Chronic illness", "health", ["慢病", "慢性病患者", "基础病"]),
    ("limited_mobility", "行动不便", "Limited mobility", "health", ["行动不便人员", "卧床", "瘫痪"]),
    ("dialysis", "血透", "Dialysis", "health", ["透析", "血液透析", "血透患者", "尿毒症透析"]),
    ("mental_disorder", "精神障碍", "Mental disorder", "health", ["精神病", "精神障碍患者", "严重精神障碍"]),
    ("homeless", "流浪乞讨人员", "Homeless person", "other", ["流浪", "流浪人员", "乞讨人员"]),
    ("stranded", "滞留人员", "Stranded person", "other", ["滞留", "滞留学生", "滞留旅客"]),
    ("home_monitoring", "居家健康监测", "Home health monitoring", "health", ["居家监测", "健康监测"]),
    ("home_isolation", "居家隔离", "Home isolation", "health", ["隔离", "居家隔离人员"]),
    ("relapse_risk", "脱贫不稳定户", "Unstable out-of-poverty household", "assistance", ["脱贫不稳定"]),
    ("edge_poverty", "边缘易致贫户", "Household at the edge of poverty", "assistance", ["边缘易致贫", "易致贫户"]),
    (
        "sudden_hardship",
        "突发严重困难户",
        "Household in sudden severe hardship",
        "assistance",
        ["突发严重困难", "突发困难户"],
    ),
]


def install_default_categories(category_model) -> int:
    """Create any missing default category; returns how many were created."""
    created = 0
    for order, (code, name, name_en, group, synonyms) in enumerate(DEFAULT_CATEGORIES, start=1):
        _obj, was_created = category_model.objects.get_or_create(
            code=code,
            defaults={"name": name, "name_en": name_en, "group": group, "synonyms": synonyms, "sort_order": order},
        )
        created += was_created
    return created
