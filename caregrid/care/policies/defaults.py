"""The cadence rules a new installation starts with (editable afterwards like any other rule).

Each entry: category codes, zones ('' = any zone), mode, times, period, channel ('' = any), temperature.
A category code missing from the installation is skipped.
"""

EMERGENCY_ZONES = ("sealed", "controlled")

DEFAULT_POLICIES = [
    # Emergency mode: those who cannot fend for themselves behind a closed door — a contact every day.
    (("elderly_alone", "dialysis", "pregnant", "limited_mobility"), EMERGENCY_ZONES, "emergency", 1, "day", "", False),
    (("elderly_no_family", "elderly_disabled", "disability_severe"), EMERGENCY_ZONES, "emergency", 1, "day", "", False),
    (("home_isolation", "mental_disorder", "child_hardship"), EMERGENCY_ZONES, "emergency", 1, "day", "", False),
    # Health monitoring at home: temperature twice a day, wherever they live.
    (("home_monitoring",), ("",), "emergency", 2, "day", "", True),
    # Outside sealed and controlled zones during an emergency, the most fragile still hear from us weekly.
    (
        ("elderly_alone", "elderly_no_family", "elderly_disabled", "dialysis"),
        ("precaution",),
        "emergency",
        2,
        "week",
        "",
        False,
    ),
    # Peacetime: elderly living alone get a visit a month and a call a week.
    (("elderly_alone",), ("",), "peacetime", 1, "month", "visit", False),
    (("elderly_alone",), ("",), "peacetime", 1, "week", "phone", False),
    # Peacetime: elderly without family, disabled elderly and severe disability — a visit a month.
    (("elderly_no_family", "elderly_disabled", "disability_severe"), ("",), "peacetime", 1, "month", "visit", False),
    (("child_hardship",), ("",), "peacetime", 1, "month", "visit", False),
    (("dialysis",), ("",), "peacetime", 1, "week", "", False),
]


def install_default_policies(CarePolicy, Category, now) -> int:
    """Create the default rules that are not in force yet (by category, zone, mode and channel). Returns how
    many were created. Model classes are passed in so the data migration can use its historical models."""
    categories = {c.code: c for c in Category.objects.all()}
    current = set(
        CarePolicy.objects.filter(valid_until__isnull=True).values_list("category_id", "zone", "mode", "channel")
    )
    created = []
    for codes, zones, mode, times, per, channel, temperature in DEFAULT_POLICIES:
        for code in codes:
            category = categories.get(code)
            if category is None:
                continue
            for zone in zones:
                key = (category.pk, zone, mode, channel)
                if key in current:
                    continue
                current.add(key)
                created.append(
                    CarePolicy(
                        category=category,
                        zone=zone,
                        mode=mode,
                        times=times,
                        per=per,
                        channel=channel,
                        temperature=temperature,
                        valid_from=now,
                    )
                )
    CarePolicy.objects.bulk_create(created)
    return len(created)
