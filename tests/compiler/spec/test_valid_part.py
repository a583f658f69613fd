"""The valid part of a spec: what a problem's place takes out of it, and what is left."""

from __future__ import annotations

from unhazzle.compiler.spec.positions import Positions
from unhazzle.compiler.spec.valid_part import PathsAt, unit_of, units_of, without


def test_a_problem_takes_out_the_entry_it_is_in_and_an_override_takes_its_app_everywhere() -> None:
    assert unit_of(("apps", "web", "port")) == ("apps", "web")
    assert unit_of(("environments", "staging", "apps", "web", "image")) == ("apps", "web")
    assert unit_of(("environments", "staging", "jobs", "report")) == ("jobs", "report")
    assert unit_of(("environments", "staging", "budget")) == ("environments", "staging")
    assert unit_of(("databases", "main", "url")) == ("databases", "main")
    assert unit_of(("previews", "from")) == ("previews",)
    assert unit_of(("extra",)) == ("extra",)  # a section the spec does not know


def test_what_every_app_depends_on_cannot_be_taken_out() -> None:
    for path in [("project",), ("apps",), ("environments",), ()]:
        assert unit_of(path) is None
    assert units_of([("apps", "web"), ("project",)]) is None
    assert units_of([("apps", "web"), None]) is None  # a problem whose place is not known
    assert units_of([("apps", "web", "port"), ("apps", "web", "image")]) == {("apps", "web")}


def test_a_wrong_region_or_version_is_stood_in_for() -> None:
    data = {"version": 2, "project": "shop", "region": "xx", "apps": {"web": {"image": "w"}}}
    assert units_of([("region",), ("version",)]) == {("region",), ("version",)}
    part = without(data, {("region",), ("version",)})
    assert part == {"version": 1, "project": "shop", "region": "fsn1", "apps": {"web": {"image": "w"}}}
    assert without({"project": "shop"}, {("version",)}) == {"project": "shop", "version": 1}  # (missing)


def test_without_leaves_the_spec_itself_as_it_was() -> None:
    data = {
        "project": "shop",
        "apps": {"web": {"image": "w"}, "api": {"image": "a"}},
        "environments": {"staging": {"apps": {"web": {"port": 1}, "api": {"port": 2}}}, "odd": None},
        "previews": {"from": "nowhere"},
    }
    part = without(data, {("apps", "web"), ("previews",)})
    assert part == {
        "project": "shop",
        "apps": {"api": {"image": "a"}},
        "environments": {"staging": {"apps": {"api": {"port": 2}}}, "odd": None},
    }
    assert set(data["apps"]) == {"web", "api"} and "previews" in data
    assert data["environments"]["staging"]["apps"]["web"] == {"port": 1}


def test_a_place_in_the_file_is_read_back_as_the_deepest_path_that_starts_there() -> None:
    positions = Positions(
        file="unhazzle.yaml",
        keys={("apps",): (1, 1), ("apps", "web"): (2, 3), ("apps", "web", "env", "A"): (3, 11)},
        values={
            ("apps", "web"): (3, 5),
            ("apps", "web", "env"): (3, 5),
            ("apps", "web", "env", "A"): (3, 14),
        },
    )
    at = PathsAt(positions)
    assert at(3, 20) == ("apps", "web", "env", "A")  # inside the value: a reference in it
    assert at(3, 5) == ("apps", "web", "env")
    assert at(2, 3) == ("apps", "web")
    assert at(9, 1) is None
