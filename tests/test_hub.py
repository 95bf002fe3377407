"""Which base model a new training form starts with, and the models usable offline (issue 22)."""

from __future__ import annotations

from pathlib import Path

from moderator_app.core import hub


def test_the_installed_minilm_is_found_and_listed_first():
    installed = hub.installed_base_model()
    assert installed is not None and (Path(installed) / "config.json").exists()
    assert hub.local_model_choices()[0] == (hub.INSTALLED_MODEL_LABEL, installed)


def test_the_recipes_model_when_the_hub_answers_or_it_is_cached_else_the_installed_minilm(monkeypatch):
    monkeypatch.setattr(hub, "installed_base_model", lambda: "/site-packages/minilm/model")
    for cached, reachable in ((True, False), (False, True)):
        monkeypatch.setattr(hub, "is_cached", lambda repo_id, cached=cached: cached)
        monkeypatch.setattr(hub, "hub_reachable", lambda reachable=reachable: reachable)
        assert hub.default_base_model("distilroberta-base") == ("distilroberta-base", "")
    monkeypatch.setattr(hub, "is_cached", lambda repo_id: False)
    monkeypatch.setattr(hub, "hub_reachable", lambda: False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    model, why = hub.default_base_model("distilroberta-base")
    assert model == "/site-packages/minilm/model"
    assert "cannot be reached" in why and "distilroberta-base" in why
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert "offline mode" in hub.default_base_model("distilroberta-base")[1]
    # nothing installed either: the recipe's model, which the form then flags with what to do
    monkeypatch.setattr(hub, "installed_base_model", lambda: None)
    assert hub.default_base_model("distilroberta-base") == ("distilroberta-base", "")


def test_a_package_that_is_not_installed_is_no_model(monkeypatch):
    monkeypatch.setattr(hub, "INSTALLED_MODEL_PACKAGE", "moderator_app_no_such_model_package")
    assert hub.installed_base_model() is None
