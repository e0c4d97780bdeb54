"""Address matching: free text from a call or a message → the household (or building) of the registry."""

import pytest

from caregrid.places.actions import place_create, place_rename
from caregrid.places.address import MAX_IMPLIED_COMPOUNDS, AddressMatch, ParsedAddress, match_address, parse_address
from caregrid.places.models import Place, PlaceKind
from caregrid.places.queries import scope_roots

SYS = "system"


def _child(parent: Place, kind: str, name: str) -> Place:
    return place_create(actor=SYS, parent=parent, kind=kind, name=name)


@pytest.fixture
def towers(world):
    """紫东花苑 gains a high-rise (6幢: two units, rooms 405 and 502) and a 19幢 with room 102 in its 2单元."""
    six = _child(world.compound, PlaceKind.BUILDING, "6幢")
    unit_1 = _child(six, PlaceKind.UNIT, "1单元")
    unit_2 = _child(six, PlaceKind.UNIT, "2单元")
    nineteen = _child(world.compound, PlaceKind.BUILDING, "19幢")
    nineteen_2 = _child(nineteen, PlaceKind.UNIT, "2单元")
    return {
        "six": six,
        "six_1_405": _child(unit_1, PlaceKind.HOUSEHOLD, "405"),
        "six_2_502": _child(unit_2, PlaceKind.HOUSEHOLD, "502"),
        "six_1_502": _child(unit_1, PlaceKind.HOUSEHOLD, "502"),
        "nineteen_2_102": _child(nineteen_2, PlaceKind.HOUSEHOLD, "102"),
    }


@pytest.fixture
def namesake(world):
    """Another 紫东花苑, in 河西社区 (another subdistrict), with its own 1幢1单元101."""
    compound = _child(world.other_community, PlaceKind.COMPOUND, "紫东花苑")
    building = _child(compound, PlaceKind.BUILDING, "1幢")
    unit = _child(building, PlaceKind.UNIT, "1单元")
    return _child(unit, PlaceKind.HOUSEHOLD, "101")


def _best(text: str, **kwargs) -> AddressMatch:
    match = match_address(text, **kwargs)
    assert match is not None, text
    return match


# ── reading the address out of the text ──


def test_parser_reads_building_unit_and_room_out_of_a_help_request():
    assert parse_address("紫东6幢2单元502 独居老人没药了") == ParsedAddress("紫东", "6", "2", "502", None)


def test_parser_reads_chinese_numerals_as_numbers():
    assert parse_address("紫东花苑十九幢二单元一〇二室") == ParsedAddress("紫东花苑", "19", "2", "102", None)
    assert parse_address("紫东花苑一百零二号楼") == ParsedAddress("紫东花苑", "102", None, None, None)


def test_parser_reads_a_floor_before_the_room():
    assert parse_address("紫东花苑6幢四楼405") == ParsedAddress("紫东花苑", "6", None, "405", "4")
    assert parse_address("紫东花苑4楼405") == ParsedAddress("紫东花苑", None, None, "405", "4")
    assert parse_address("紫东花苑6楼502") == ParsedAddress("紫东花苑", "6", None, "502", None)


def test_parser_reads_hyphenated_forms():
    assert parse_address("紫东花苑6-2-502") == ParsedAddress("紫东花苑", "6", "2", "502", None)
    assert parse_address("紫东花苑6号楼2-502") == ParsedAddress("紫东花苑", "6", "2", "502", None)
    assert parse_address("河西新村5-301") == ParsedAddress("河西新村", "5", None, "301", None)


def test_parser_leaves_the_words_leading_into_the_address_out_of_the_compound():
    assert parse_address("请送药到紫东花苑1幢").compound == "紫东花苑"
    assert parse_address("老人住在河西新村，腿脚不便") == ParsedAddress("河西新村", None, None, None, None)


def test_parser_keeps_phone_numbers_and_times_out_of_the_room():
    assert parse_address("和平新村6幢2单元 电话13812345678").room is None
    assert parse_address("6幢2单元12点前送药") == ParsedAddress(None, "6", "2", None, None)


def test_text_without_an_address_parses_to_nothing():
    assert parse_address("家里没药了，请尽快联系") is None
    assert parse_address("5月3号要送药") is None
    assert parse_address("") is None


# ── matching the registry ──


def test_full_address_matches_the_household_with_high_confidence(world):
    match = _best("紫东花苑1幢1单元101室")
    assert match.place == world.household_a
    assert match.place_id == world.household_a.pk
    assert (match.compound, match.building, match.unit, match.room) == ("紫东花苑", "1幢", "1单元", "101")
    assert match.confidence >= 0.95
    assert match.candidates[0].place_id == world.household_a.pk
    assert match.candidates[0].label == "紫东花苑1幢1单元101室"


@pytest.mark.parametrize("building", ["1栋", "1号楼", "1号", "1座", "一幢", "第1幢"])
def test_every_way_of_writing_a_building_finds_the_household(world, building):
    match = _best(f"紫东花苑{building}1单元101")
    assert match.place == world.household_a
    assert match.confidence >= 0.95


@pytest.mark.parametrize("room", ["101室", "101房", "101号", "101户", "101"])
def test_every_way_of_writing_a_room_finds_the_household(world, room):
    assert _best(f"紫东花苑1幢1单元{room}").place == world.household_a


def test_unit_written_with_a_hyphen_finds_the_household(world):
    assert _best("紫东花苑1幢1-101").place == world.household_a
    assert _best("紫东花苑1-1-101 老人摔倒了").place == world.household_a


def test_chinese_numerals_find_the_household(towers):
    match = _best("紫东花苑十九幢二单元一〇二室")
    assert match.place == towers["nineteen_2_102"]
    assert match.confidence >= 0.95


def test_a_floor_written_before_the_room_finds_the_household(towers):
    assert _best("紫东花苑6幢2单元5楼502").place == towers["six_2_502"]
    assert _best("紫东花苑6幢1单元四楼405").place == towers["six_1_405"]


def test_a_room_named_on_its_floor_without_building_is_found_across_the_compound(towers):
    match = _best("紫东花苑4楼405 需要送菜")
    assert match.place == towers["six_1_405"]
    assert match.confidence < _best("紫东花苑6幢1单元405").confidence


def test_household_directly_under_a_building_matches_without_a_unit(world):
    for text in ("河西新村5幢301", "河西新村5栋301室", "河西新村5-301"):
        match = _best(text)
        assert match.place == world.household_other, text
        assert match.unit is None
        assert match.confidence >= 0.95


def test_buildings_named_in_chinese_numerals_or_letters_in_the_ledger_are_found(world):
    three = _child(world.compound, PlaceKind.BUILDING, "三号楼")
    tower = _child(world.compound, PlaceKind.BUILDING, "A座")
    in_three = _child(_child(three, PlaceKind.UNIT, "二单元"), PlaceKind.HOUSEHOLD, "302")
    in_tower = _child(tower, PlaceKind.HOUSEHOLD, "1202")
    assert _best("紫东花苑3栋2单元302").place == in_three
    assert _best("紫东花苑a座1202室").place == in_tower


def test_traditional_characters_full_width_digits_and_spaces_are_tolerated(world):
    assert _best("紫東花苑1幢1單元101室").place == world.household_a
    assert _best("紫东花苑 １幢 １单元 １０１").place == world.household_a
    assert _best("紫东花苑 1 - 1 - 101").place == world.household_a


def test_the_address_is_found_inside_a_help_request(towers):
    match = _best("紫东6幢2单元502 独居老人没药了")
    assert match.place == towers["six_2_502"]
    assert match.compound == "紫东花苑"


def test_compound_named_without_its_ending_matches_with_less_confidence(world):
    whole = _best("紫东花苑1幢1单元101")
    bare = _best("紫东1幢1单元101")
    other_ending = _best("紫东小区1幢1单元101")
    assert bare.place == other_ending.place == world.household_a
    assert bare.confidence < whole.confidence
    assert other_ending.confidence == bare.confidence


def test_a_compound_named_with_another_ending_that_exists_falls_back_to_its_namesakes(world):
    other = _child(world.community, PlaceKind.COMPOUND, "紫东小区")
    nine = _child(other, PlaceKind.BUILDING, "9幢")
    match = _best("紫东小区1幢1单元101")
    assert match.place == world.household_a
    assert match.confidence == pytest.approx(0.85)
    assert _best("紫东小区9幢").place == nine


def test_unit_left_out_finds_the_household_with_a_little_less_confidence(world):
    match = _best("紫东花苑1幢101")
    assert match.place == world.household_a
    assert 0.8 < match.confidence < _best("紫东花苑1幢1单元101").confidence


def test_same_room_in_two_units_gives_both_as_candidates(towers):
    match = _best("紫东花苑6幢502")
    assert {c.place_id for c in match.candidates} == {towers["six_1_502"].pk, towers["six_2_502"].pk}
    assert match.confidence <= 0.5
    assert match.candidates[0].confidence == match.candidates[1].confidence


def test_room_that_does_not_exist_stops_at_the_unit(world):
    match = _best("紫东花苑1幢1单元999")
    assert match.place.kind == PlaceKind.UNIT
    assert match.place.parent_id == world.building_a.pk
    assert match.room is None
    assert 0.6 < match.confidence < 0.8


def test_building_only_matches_the_building(world):
    match = _best("紫东花苑2幢停水了")
    assert match.place == world.building_b
    assert 0.5 <= match.confidence < 0.6


def test_compound_only_matches_with_low_confidence(world):
    match = _best("紫东花苑有位老人需要帮助")
    assert match.place == world.compound
    assert match.building is None
    assert match.confidence <= 0.3
    assert match.candidates[0].label == "紫东花苑"


def test_a_compound_named_in_two_communities_gives_candidates_from_both(world, namesake):
    match = _best("紫东花苑1幢1单元101")
    assert {c.place_id for c in match.candidates} == {world.household_a.pk, namesake.pk}
    assert match.confidence <= 0.5
    # The same address in two communities: each label says which community it is in.
    assert sorted(c.label for c in match.candidates) == [
        "河西社区紫东花苑1幢1单元101室",
        "紫东社区紫东花苑1幢1单元101室",
    ]


def test_the_community_written_in_the_text_settles_a_shared_compound_name(world, namesake):
    match = _best("河西社区紫东花苑1幢1单元101")
    assert match.place == namesake
    assert match.candidates[1].place_id == world.household_a.pk
    assert match.confidence > match.candidates[1].confidence


def test_within_limits_matching_to_a_subtree(world, namesake):
    assert _best("紫东花苑1幢1单元101", within=world.other_community).place == namesake
    assert _best("紫东花苑1幢1单元101", within=world.community).place == world.household_a
    (hotline_district,) = scope_roots(world.hotline_operator)
    assert len(_best("紫东花苑1幢1单元101", within=hotline_district).candidates) == 2


def test_within_a_building_a_neighbouring_building_does_not_match(world):
    assert _best("紫东花苑1幢1单元101", within=world.building_a).place == world.household_a
    assert _best("紫东花苑2幢1单元202", within=world.building_a).place is None


def test_within_a_grid_only_what_the_grid_covers_matches(world):
    outside = _best("紫东花苑1幢1单元101", within=world.grid_b)
    assert outside.place is None
    assert outside.candidates == []
    assert _best("紫东花苑2幢1单元202", within=world.grid_b).place == world.household_b


def test_within_a_small_scope_an_address_without_a_compound_is_looked_for_there(world):
    assert _best("2幢1单元202 需要血透", within=world.grid_b).place == world.household_b
    assert _best("1幢1单元101", within=world.community).place == world.household_a


def test_an_address_without_a_compound_is_not_guessed_among_many_compounds(world):
    for n in range(MAX_IMPLIED_COMPOUNDS):
        _child(world.community, PlaceKind.COMPOUND, f"新建{n}号小区")
    match = _best("2幢1单元202", within=world.community)
    assert match.place is None
    assert match.confidence == 0.0


def test_an_address_that_names_no_known_place_matches_nothing(world):
    match = _best("幸福家园3幢2单元301")
    assert match.place is None
    assert match.place_id is None
    assert match.candidates == []


def test_text_without_an_address_matches_nothing(world):
    assert match_address("老人没药了，请尽快联系") is None
    assert match_address("5月3号要送药") is None
    assert match_address("") is None


def test_a_known_compound_name_is_an_address_even_without_a_building(world):
    match = _best("河西新村停电了")
    assert match.place.name == "河西新村"


def test_a_renamed_compound_is_matched_by_its_new_name(world):
    assert _best("紫东花苑1幢1单元101").place == world.household_a
    place_rename(actor=SYS, place=world.compound, name="紫东名邸")
    assert _best("紫东名邸1幢1单元101").place == world.household_a
    assert _best("紫东名邸1幢1单元101").confidence >= 0.95


def test_compounds_loaded_in_bulk_are_matched_without_a_restart(world):
    assert _best("星湖佳苑停水了").place is None
    top = Place.objects.order_by("-id").first().pk
    path = f"{world.community.path}{top + 1}."
    Place.objects.bulk_create(
        [Place(id=top + 1, kind=PlaceKind.COMPOUND, name="星湖佳苑", parent=world.community, path=path, depth=3)]
    )
    assert _best("星湖佳苑停水了").place_id == top + 1
