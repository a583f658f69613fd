"""The sizing questions fit the kind of app: one that serves no requests is asked about its work."""

from __future__ import annotations

from unhazzle.compiler.rules.questions import questions


def test_an_app_without_a_port_is_asked_about_its_work_not_requests() -> None:
    for key in ("traffic", "latency", "pattern"):
        question = questions()[key]
        ask, choices = question.wording(has_port=False)
        assert set(choices) == set(question.choices)  # the same answers, in other words
        assert "request" not in ask.lower() and not any("request" in text for text in choices.values())
    assert questions()["traffic"].wording(has_port=False)[0] == "How much work will it get?"
    assert questions()["traffic"].wording(has_port=True)[0] == "How much traffic will the app get?"
