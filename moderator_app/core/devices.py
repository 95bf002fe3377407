"""Compute devices: what is available and what "auto" means."""

from __future__ import annotations


def resolve_device(choice: str = "auto") -> str:
    """"auto" picks CUDA, then Apple MPS, then the CPU; an explicit choice must be available."""
    import torch

    if choice == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("CUDA was chosen but no CUDA GPU is available; choose auto or cpu.")
    if choice == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError("MPS was chosen but Apple's Metal backend is not available; choose auto or cpu.")
    return choice


def available_devices() -> list[tuple[str, str]]:
    """(device id, human description) for each usable device, "auto" first."""
    import torch

    devices = [("auto", f"Auto ({describe(resolve_device('auto'))})")]
    if torch.cuda.is_available():
        devices.append(("cuda", describe("cuda")))
    if torch.backends.mps.is_available():
        devices.append(("mps", describe("mps")))
    devices.append(("cpu", describe("cpu")))
    return devices


def describe(device: str) -> str:
    import torch

    if device == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(0)}"
    if device == "mps":
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"
