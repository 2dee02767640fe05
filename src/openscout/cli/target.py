"""The target-machine options that `fit`, `catalog search|show` and `compare` share."""

from __future__ import annotations

import typer

from openscout.catalog.machine import Target, resolve_target
from openscout.config import get_settings

MACHINE = typer.Option(
    None,
    "--machine",
    help="judge fit for a named machine: laptop-8gb, laptop-16gb, laptop-32gb, desktop-64gb, "
    "gpu-16gb, gpu-24gb, gpu-48gb, gpu-80gb, 2x-gpu-24gb, or one in machines.yaml in the data dir",
)
MEMORY = typer.Option(None, "--memory", help="judge fit for this much RAM, e.g. 16GB")
GPU = typer.Option(None, "--gpu", help="memory of each GPU of the target, e.g. 24GB")
GPUS = typer.Option(None, "--gpus", min=0, help="how many such GPUs (default 1 with --gpu)")


def target_from(
    machine: str | None, memory: str | None, gpu: str | None, gpus: int | None
) -> Target:
    return resolve_target(
        machine=machine, memory=memory, gpu=gpu, gpus=gpus, home=get_settings().home
    )
