"""Red flags: phrases in a help request that put health or life at risk, whatever the model says.

Each rule names an urgency floor. A fired rule may raise the request's urgency to its floor
(`raise_urgency`), never lower it, and the fired rules travel with the triage so the operator sees why.
The rules read normalised text (Simplified characters, half-width digits).
"""

import re
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from caregrid.cases.taxonomy import URGENCY_RANK, Urgency, raise_urgency

# A rule that may be negated ("没有发高烧", "不是胸口疼") or hedged ("万一着火") is skipped when a negation
# ends just before it or a hedge stands within the four characters before it.
_NEGATED = re.compile(r"(?:不|没|无|未|非|别)(?:有|是|再|会)?发?$")
_HEDGES = ("万一", "以防", "防止", "如果", "假如", "要是", "预防", "免得", "避免")

_CHILD = r"(?:孩子|小孩|儿子|女儿|娃|小朋友|宝宝)"
_INFANT = r"(?:婴儿|新生儿|宝宝|小宝|刚出生|满月|[0-9一二三四五六七八九十两几]+个(?:多)?月(?:大)?)"
_ELDER = r"(?:独居|孤寡|空巢|一个人住|一个人在家|老人|老太太|老太|老大爷|大爷|奶奶|爷爷|外婆|外公|阿婆|婆婆|老伯|老头)"


@dataclass(frozen=True)
class RedFlag:
    code: str
    label: str | Promise
    urgency: str
    pattern: re.Pattern
    negatable: bool = True

    def fires(self, text: str) -> bool:
        return any(not self.negatable or not _negated(text, m.start()) for m in self.pattern.finditer(text))


def _negated(text: str, start: int) -> bool:
    before = text[max(0, start - 4) : start]
    return _NEGATED.search(before) is not None or any(h in before for h in _HEDGES)


@dataclass(frozen=True)
class FiredFlag:
    """One fired rule as the UI and the API show it."""

    code: str
    label: str
    urgency: str

    def as_dict(self) -> dict:
        return {"code": self.code, "label": self.label, "urgency": self.urgency}


def _rule(code: str, label, urgency: str, pattern: str, *, negatable: bool = True) -> RedFlag:
    return RedFlag(code, label, urgency, re.compile(pattern), negatable)


URGENT, HIGH = Urgency.URGENT.value, Urgency.HIGH.value

RULES: tuple[RedFlag, ...] = (
    _rule(
        "dialysis_due",
        _("血透/腹透到期或中断"),
        URGENT,
        r"(?:透析|血透|腹透).{0,8}(?:没做|没去|没能|错过|耽误|断了|中断|停了|停掉|超过|过了|拖了|到时间|今天|今晚|马上)"
        r"|(?:今天|今晚|今早|马上|该|错过了?|耽误了?)(?:要|去|得)?(?:做|去做)?(?:透析|血透|腹透)",
    ),
    _rule(
        "dialysis_soon", _("血透/腹透日期临近"), HIGH, r"(?:透析|血透|腹透).{0,12}(?:明天|明日|明早|后天|出不去|去不了)"
    ),
    _rule(
        "chest_pain",
        _("胸痛、胸闷"),
        URGENT,
        r"(?:胸口|胸前|心口).{0,6}(?:疼|痛|闷|憋|压|难受|不舒服|绞|石头)|心脏(?:剧痛|疼|痛|难受|不舒服)|胸痛|胸闷|心绞痛|心梗"
        r"|心肌梗|心脏病(?:犯|发作)",
    ),
    _rule(
        "breathing",
        _("呼吸困难"),
        URGENT,
        r"呼吸困难|喘不(?:上|过|动)|上不来气|透不过气|出不来气|憋得慌|憋醒|呼吸急促|喘得(?:厉害|很|不行)"
        r"|(?:哮喘|气喘)(?:犯|发作)|嘴唇发紫|呼吸(?:很弱|微弱|费劲|费力)|咳喘加重",
    ),
    _rule(
        "pregnancy_emergency",
        _("孕产妇急症（破水、见红、出血、宫缩）"),
        URGENT,
        r"羊水|破水|见红|阵痛|宫缩|要生了|快生了|临产|在家生了|脐带|"
        r"(?:怀孕|孕妇|产妇|怀着|孕期|孕[0-9一二三四五六七八九十]+周|月子).{0,15}"
        r"(?:出血|流血|肚子(?:疼|痛)|腹痛|抽筋|胎动(?:少|没|减少|变少))",
    ),
    _rule(
        "allergy_severe",
        _("严重过敏（喉头水肿、呼吸受影响）"),
        URGENT,
        r"过敏.{0,12}(?:喉咙|嗓子|呼吸|喘|脸肿|嘴肿|眼睛肿|肿起来|休克|昏|晕)|(?:喉头|喉咙|嗓子)(?:水肿|发紧|肿)|过敏性休克",
    ),
    _rule("allergy", _("突发过敏"), HIGH, r"(?:突发|突然|严重)过敏|过敏(?:了|反应|严重|得厉害|发作)"),
    _rule(
        "insulin_out",
        _("胰岛素已断"),
        URGENT,
        r"胰岛素.{0,6}(?:没了|没有了|用完了|打完了|断了|坏了|用光)|(?:没有|断了|缺)胰岛素",
    ),
    _rule(
        "insulin",
        _("胰岛素不足或无法取用"),
        HIGH,
        r"胰岛素.{0,10}(?:快没|快用完|只剩|剩|不够|买不到|拿不到|拿出来|取出来|冰箱|不制冷|过期)|(?:冷藏|冰箱).{0,10}胰岛素",
    ),
    _rule(
        "stroke",
        _("疑似中风（口角歪斜、说话不清、半身无力）"),
        URGENT,
        r"口眼歪斜|口角歪斜|嘴(?:巴)?(?:突然)?歪了?|突然.{0,8}(?:说不出话|说话不清|口齿不清|半边|半身|一边手脚|手脚不听使唤|手脚没劲)"
        r"|疑似(?:中风|脑梗|脑卒中|脑出血)|(?:又|突然|刚刚|刚才)(?:中风|脑梗|脑出血)|(?:中风|脑梗|脑出血)了"
        r"|(?:头晕|头疼|头痛).{0,6}(?:说话不清|口齿不清|说不出话)|(?:说话不清|口齿不清).{0,6}(?:头晕|头疼|头痛)",
    ),
    _rule(
        "infant_fever",
        _("婴幼儿发热"),
        URGENT,
        _INFANT + r".{0,15}(?:发烧|发热|高烧|烧到|体温.{0,3}3[89])|(?:发烧|发热|高烧).{0,10}" + _INFANT,
    ),
    _rule(
        "fever_at_risk",
        _("免疫低下者发热（化疗、移植）"),
        URGENT,
        r"(?:化疗|白细胞低|移植|免疫抑制).{0,15}(?:发烧|发热)",
    ),
    _rule(
        "high_fever",
        _("高烧"),
        HIGH,
        r"高烧|高热|烧到\s*(?:39|4[0-2])|(?:39|40|41)(?:\.[0-9])?\s*(?:度|°C)",
    ),
    _rule(
        "unconscious",
        _("昏迷、抽搐、叫不醒"),
        URGENT,
        r"昏迷|昏倒|晕倒|晕过去|晕厥|不省人事|叫不醒|喊不醒|没(?:有)?意识|意识(?:不清|模糊)|失去意识|抽搐|抽风|休克|没(?:有)?呼吸"
        r"|倒地|突然倒下|癫痫(?:发作|犯了)|抽了.{0,4}(?:分钟|没停)",
    ),
    _rule(
        "fall_cannot_rise",
        _("摔倒后起不来或受伤"),
        URGENT,
        r"(?:摔|跌|滑)(?:倒|了|在|伤).{0,10}(?:起不来|爬不起来|动不了|站不起来|流血|出血|骨折|磕破|磕到头)"
        r"|(?:坐|躺|倒|趴)在地上.{0,8}(?:起不来|爬不起来|动不了)|(?:起不来|站不起来).{0,4}坐在地上|起不来床",
    ),
    _rule(
        "head_injury",
        _("头部外伤"),
        URGENT,
        r"(?:头|脑袋)(?:磕|撞|摔)(?:了|破|伤|到)|(?:磕|撞|摔)(?:到|伤|破)了?(?:头|脑袋)",
    ),
    _rule(
        "poisoning",
        _("误服、中毒、异物"),
        URGENT,
        r"误服|误食|误吞|吞了.{0,6}(?:电池|硬币|纽扣|磁|针|钉|异物|药)|中毒|一氧化碳|热水器.{0,20}头晕"
        r"|喝了.{0,6}(?:洗衣液|消毒液|农药|84|洁厕|酒精|除草剂|百草枯)|(?:吃|吞)了.{0,4}(?:一整板|一整瓶|一把)",
    ),
    _rule("choking", _("噎住"), URGENT, r"噎住|噎着了|卡在喉咙|卡喉咙|卡住了喉咙"),
    _rule(
        "burn",
        _("烫伤、烧伤、化学品入眼"),
        URGENT,
        r"烫伤|烧伤|开水.{0,6}(?:烫|浇|泼)|起了?一大片水泡|溅到.{0,4}眼睛|眼睛.{0,4}溅",
    ),
    _rule("bite", _("毒蛇咬伤"), URGENT, r"蛇咬|被蛇|毒蛇"),
    _rule(
        "hypertension_crisis",
        _("血压极高"),
        URGENT,
        r"(?:血压|高压)(?:到了|有|是|量了|测了)?\s*(?:1[89][0-9]|2[0-9]{2})",
    ),
    _rule("urinary_retention", _("无法排尿"), URGENT, r"尿不出|尿潴留|憋了一整天"),
    _rule("vomiting", _("反复呕吐"), HIGH, r"一直吐|吐了[0-9三四五六七八九十几]+次|呕吐不止|吐个不停"),
    _rule(
        "palpitations",
        _("心慌、心跳过快"),
        HIGH,
        r"心跳.{0,4}(?:很快|太快|特别快|过快|一百[四五六七八九]|1[4-9][0-9])|心慌|房颤",
    ),
    _rule(
        "ambulance_blocked",
        _("救护车受阻"),
        URGENT,
        r"(?:急救车|救护车|120).{0,15}(?:进不了|进不来|被拦|拦住|不让进|不让走|等着)",
    ),
    _rule(
        "suicide_risk",
        _("轻生念头"),
        URGENT,
        r"自杀|轻生|不想活|活不下去|活着没意思|想死|寻死|跳楼|跳下去|割腕|割.{0,2}手腕|结束(?:自己的)?生命|结束一切|一了百了|遗书"
        r"|同归于尽|安眠药.{0,6}(?:一把|全吃|吞)|站在.{0,6}(?:天台|楼顶|栏杆外|窗台)|在天台上|栏杆外",
        negatable=False,
    ),
    _rule(
        "bleeding",
        _("大出血"),
        URGENT,
        r"大出血|出血不止|流血不止|血止不住|止不住血|吐血|咳血|呕血|便血|流了很多血|流了好多血|满脸是血|(?:流血|出血).{0,10}止不住",
    ),
    _rule(
        "fire_gas",
        _("燃气泄漏、起火、漏电"),
        URGENT,
        r"煤气味|燃气味|天然气味|煤气泄漏|燃气泄漏|泄漏|漏气|着火|起火|失火|冒烟|冒黑烟|冒火|火花|火星|烧起来|焦味|触电|漏电"
        r"|(?:燃气|煤气)管道?被?(?:挖断|断了|破了)",
    ),
    _rule(
        "device_power",
        _("停电影响制氧机、呼吸机等医疗设备"),
        URGENT,
        r"(?:制氧机|呼吸机|吸氧|氧气机|透析|吸痰|监护仪|雾化).{0,20}(?:停电|没电|断电|停了)"
        r"|(?:停电|没电|断电).{0,20}(?:制氧机|呼吸机|吸氧|氧气|透析|吸痰)",
    ),
    _rule(
        "trapped",
        _("被困电梯或车内"),
        URGENT,
        r"困在电梯|电梯(?:里)?困(?:人|住)|电梯.{0,10}卡在|卡在.{0,6}电梯|锁在车里|关在车里|车里锁着",
    ),
    _rule(
        "unreachable",
        _("独居老人联系不上"),
        URGENT,
        _ELDER + r".{0,30}(?:联系不上|电话打不通|不接电话|(?:电话|打了).{0,6}没人接|敲门没|敲门也?没应|喊门|叫门也?不应"
        r"|没人应|没反应|没动静|没见(?:她|他)?出门|没见人|再打不接)",
    ),
    _rule(
        "child_alone",
        _("儿童无人照看"),
        HIGH,
        _CHILD + r"[^我]{0,12}(?:一个人在家|一个人|独自在家|自己在家|没人管|没有人照顾|没人照顾|无人照看)",
    ),
    _rule(
        "violence",
        _("暴力、呼救"),
        URGENT,
        r"家暴|打老婆|打孩子|砍人|持刀|拿刀|拿着刀|打人了|喊救命|救命啊",
        negatable=False,
    ),
    _rule(
        "psychiatric_crisis",
        _("精神障碍发作"),
        URGENT,
        r"(?:精神病|精神分裂|躁狂|精神障碍).{0,15}(?:发作|犯病|发病|闹|砸|打人|跑出去)",
    ),
    _rule(
        "wandering",
        _("认知障碍老人走失"),
        URGENT,
        r"(?:痴呆|糊涂|阿尔茨海默|阿尔兹海默).{0,30}(?:走失|走丢|不见了|没找到|找不到了|跑出去|出去了)|走失",
    ),
    _rule(
        "essential_medicine_out",
        _("必需药品断供"),
        HIGH,
        r"(?:降压药|心脏病?的?药|救心丸|硝酸甘油|抗癫痫|癫痫药|抗排异|抗排斥|精神科的?药|抗凝药|华法林|哮喘药|喷雾)"
        r".{0,8}(?:没了|断了|吃完|用完|只剩|快没)|断药|停药",
    ),
    _rule(
        "no_food",
        _("断粮断水"),
        HIGH,
        r"断粮|没米下锅|揭不开锅|(?:一|两|几|三)天没(?:正经)?吃|没(?:有)?(?:能)?吃的了|饿了(?:一|两|几|三)天|没水喝",
    ),
    _rule(
        "infant_formula_out",
        _("婴儿断奶粉"),
        URGENT,
        r"奶粉.{0,10}(?:断了|(?<!快)没了|喝完了|见底|只剩|吃完了)|(?:断|没)了?奶粉",
    ),
    _rule(
        "life_support",
        _("维持生命的护理中断（吸痰、鼻饲、供氧）"),
        URGENT,
        r"(?:吸痰器|呼吸机|制氧机|鼻饲|营养液|氧气瓶|氧气袋).{0,8}(?:坏了|没了|用完|停了|不够|空了)|翻身吸痰",
    ),
    _rule(
        "dependent_alone",
        _("失能、卧床者无人照护"),
        HIGH,
        r"(?:瘫痪|卧床|失能|植物人|截瘫|偏瘫|不能自理).{0,30}(?:没人|无人|没有人)(?:喂|照护|照顾|管|看)?",
    ),
    _rule("cold_exposure", _("受冻或中暑"), HIGH, r"冻坏|冻僵|冻得|挨冻|冻出|中暑|热晕"),
)


# Most requests fire no rule: one search for any of them spares trying each rule in turn.
_ANY = re.compile("|".join(f"(?:{rule.pattern.pattern})" for rule in RULES))


def red_flags(text: str) -> list[FiredFlag]:
    """The rules that fire on a normalised text, most urgent first."""
    if not _ANY.search(text):
        return []
    fired = [FiredFlag(r.code, str(r.label), r.urgency) for r in RULES if r.fires(text)]
    fired.sort(key=lambda f: -URGENCY_RANK[f.urgency])
    return fired


def apply_flags(urgency: str, flags: list[FiredFlag]) -> str:
    """The urgency after the fired rules: raised to the highest floor among them, never lowered."""
    for flag in flags:
        urgency = raise_urgency(urgency, flag.urgency)
    return urgency


def flag_labels(stored: list[dict]) -> list[str]:
    """Labels, in the page's language, of red flags stored with a request (their codes; a code no rule has
    any more shows the label stored with it)."""
    by_code = {rule.code: rule.label for rule in RULES}
    return [str(by_code.get(f.get("code"), f.get("label", ""))) for f in stored or []]
