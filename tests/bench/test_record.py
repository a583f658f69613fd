"""`make bench` writes what it measured into the benchmarks page, between its markers only."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.__main__ import BEGIN, END, record


def test_record_replaces_only_the_block_between_the_markers(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text(f"# Benchmarks\n\nWhy.\n\n{BEGIN}\nold figures\n{END}\n\nHow to read them.\n")
    record("== bench.render\n| work | s |\n| render | 0.4 |\n", page)
    text = page.read_text()
    assert text.startswith("# Benchmarks\n\nWhy.\n\n" + BEGIN + "\nLast run: ")
    assert "cores, load average" in text and "| render | 0.4 |\n```\n" + END in text
    assert "old figures" not in text and text.endswith(END + "\n\nHow to read them.\n")


def test_record_leaves_a_page_without_markers_alone(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text("# Benchmarks\n")
    record("figures", page)
    assert page.read_text() == "# Benchmarks\n"


def test_the_benchmarks_are_the_modules_with_a_main_and_an_unknown_name_is_refused(capsys) -> None:
    from bench.__main__ import benchmarks, main

    assert {"render", "preview", "publish", "reconcile", "status"} <= set(benchmarks())
    assert not {"peers", "chart"} & set(benchmarks())  # they help the benchmarks
    assert main(["no-such-benchmark"]) == 2
    assert "no benchmark no-such-benchmark; there are: " in capsys.readouterr().err


def test_the_benchmarks_without_a_control_plane_run_first() -> None:
    from bench.__main__ import benchmarks

    order = benchmarks()
    for quick in ("render", "preview", "publish"):
        for plane in ("converge", "reconcile", "shards", "status"):
            assert order.index(quick) < order.index(plane), order


@pytest.mark.parametrize(
    ("source", "plane"),
    [("from unhazzle.devcluster import cluster as devcluster\n", True),
     ("from unhazzle.devcluster.cluster import up\n", True),
     ("import unhazzle.devcluster\n", True),
     ("from bench.plane import COLUMNS, Meter\n", True),
     ("from bench import peers, plane\n", True),
     ("from bench import peers\n# no plane here: from bench import plane is only said\n", False),
     ("from bench.render import ENV\nfrom unhazzle.compiler import pipeline\n", False),
     ("from bench import planes\n", False)],
)  # fmt: skip
def test_a_benchmark_starts_a_plane_when_it_imports_one(source: str, plane: bool) -> None:
    from bench.__main__ import starts_a_plane

    assert starts_a_plane(source) is plane


def test_only_a_whole_run_is_recorded(monkeypatch, tmp_path: Path, capsys) -> None:
    import sys
    import types

    import bench.__main__ as runner

    quick = types.ModuleType("bench.quick")
    quick.main = lambda argv: print("| quick | 0.1 s |")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bench.quick", quick)
    monkeypatch.setattr(runner, "benchmarks", lambda: ["quick"])
    page = tmp_path / "benchmarks.md"
    page.write_text(f"{BEGIN}\nthe last whole run's figures\n{END}\n")
    monkeypatch.setattr(runner, "DOCS", page)
    assert runner.main(["quick"]) == 0  # named: a partial run, whose figures would drop the others'
    assert "the last whole run's figures" in page.read_text()
    assert "(not recorded in the docs: only a whole run is)" in capsys.readouterr().out
    assert runner.main([]) == 0
    assert "| quick | 0.1 s |" in page.read_text() and "whole run's figures" not in page.read_text()
