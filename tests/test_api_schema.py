"""The OpenAPI document, and a property test fuzzing the query parameters of GET /residents."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

EXPECTED_PATHS = {
    "/api/v1/me": {"get"},
    "/api/v1/places": {"get"},
    "/api/v1/places/{place_id}": {"get"},
    "/api/v1/places/{place_id}/children": {"get"},
    "/api/v1/places/{place_id}/zones": {"get", "post"},
    "/api/v1/residents": {"get", "post"},
    "/api/v1/residents/{resident_id}": {"get", "patch"},
    "/api/v1/residents/{resident_id}/unmask": {"post"},
    "/api/v1/categories": {"get"},
    "/api/v1/cases": {"get", "post"},
    "/api/v1/cases/triage": {"get"},
    "/api/v1/cases/{case_id}": {"get"},
    "/api/v1/cases/{case_id}/tasks": {"post"},
    "/api/v1/tasks": {"get"},
    "/api/v1/tasks/{task_id}/done": {"post"},
    **{
        f"/api/v1/cases/{{case_id}}/actions/{action}": {"post"}
        for action in (
            "answer",
            "coordinate",
            "dispatch",
            "acknowledge",
            "contact",
            "note",
            "resolve",
            "close",
            "reopen",
            "cancel",
            "retriage",
            "link",
            "place",
        )
    },  # fmt: skip
}


def test_the_openapi_document_is_json_with_every_path(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    paths = {path: set(ops) for path, ops in schema["paths"].items()}
    assert paths == EXPECTED_PATHS
    assert schema["components"]["securitySchemes"]["TokenAuth"] == {"type": "http", "scheme": "bearer"}


def test_every_operation_documents_the_error_shape(client):
    schema = client.get("/api/v1/openapi.json").json()
    error = schema["components"]["schemas"]["ErrorOut"]
    assert set(error["properties"]) == {"code", "message", "fields"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert "401" in operation["responses"], (method, path)


def test_the_list_documents_its_filters_and_the_page_size_cap(client):
    schema = client.get("/api/v1/openapi.json").json()
    params = {p["name"]: p for p in schema["paths"]["/api/v1/residents"]["get"]["parameters"]}
    assert set(params) == {"place", "category", "zone", "q", "priority", "page", "page_size", "count"}
    assert params["page_size"]["schema"]["maximum"] == 200


def test_there_is_no_docs_page_loading_scripts_from_a_cdn(client):
    assert client.get("/api/v1/docs").status_code == 404


# Values a careless or hostile client might send, mixed with meaningful ones.
_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=80)
_int_text = st.one_of(
    # Edges first: the bigint limits (ids, and offsets of page × page_size), zero, odd spellings.
    st.sampled_from([str(2**31), str(2**62), str(2**63 - 1), str(2**63), str(2**64)]),
    st.sampled_from(["", "0", "1", "2", "200", "201", "1e3", "0x10", "１２", " 3", "-1"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
PARAMETERS = {
    "place": st.one_of(_int_text, _text),
    "category": st.one_of(st.sampled_from(["elderly_alone", "dialysis", "nosuch", "", "%", "_"]), _text),
    "zone": st.one_of(st.sampled_from(["sealed", "controlled", "precaution", "lifted", ""]), _text),
    "q": st.one_of(st.sampled_from(["王", "5678", "13812345678", "%", "_", "\\", "'--"]), _text),
    "priority": st.sampled_from(["true", "false", "1", "0", "yes", "", "maybe"]),
    "page": _int_text,
    "page_size": _int_text,
    "count": st.sampled_from(["true", "false", "", "2"]),
}
# One parameter at a time reaches each one's edges; combinations exercise the filters together.
_one = st.sampled_from(sorted(PARAMETERS)).flatmap(lambda k: PARAMETERS[k].map(lambda v: {k: v}))
_many = st.fixed_dictionaries({}, optional=PARAMETERS)


def _assert_answer_is_sound(world, response, query) -> None:
    assert response.status_code in {200, 404, 422}, (query, response.content)
    body = response.json()
    if response.status_code == 200:
        assert len(body["items"]) <= body["page_size"] <= 200
        assert {item["id"] for item in body["items"]} <= {world.resident_a.pk}
    else:
        assert body["code"] in {"not_found", "invalid"} and body["message"]


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(query=_one)
def test_no_single_query_parameter_makes_the_resident_list_fail(world, client, query):
    client.force_login(world.grid_worker_a)
    response = client.get("/api/v1/residents", query)  # the test client re-raises any server error
    _assert_answer_is_sound(world, response, query)


@FUZZ
@given(query=_many)
def test_no_combination_of_query_parameters_makes_the_resident_list_fail(world, client, query):
    client.force_login(world.grid_worker_a)
    response = client.get("/api/v1/residents", query)
    _assert_answer_is_sound(world, response, query)
