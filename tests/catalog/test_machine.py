"""The target machine: a size, a profile or the user's own, and the verdicts it drives in
`fit`, search and the web catalog and model pages."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from openscout.catalog.fit import estimate_fit
from openscout.catalog.loader import load_catalog
from openscout.catalog.machine import GiB, parse_size, resolve_target
from openscout.catalog.views import search_view
from openscout.cli.main import app
from openscout.errors import FitError


def test_sizes_are_binary_gigabytes() -> None:
    assert parse_size("16GB") == parse_size("16 GiB") == parse_size("16") == 16 * GiB
    assert parse_size("512M") == 512 * 2**20 and parse_size("1.5T") == int(1.5 * 1024 * GiB)
    with pytest.raises(FitError):
        parse_size("lots")


def test_profiles_overrides_and_user_machines(settings) -> None:  # type: ignore[no-untyped-def]
    assert resolve_target().here
    laptop = resolve_target(machine="laptop-16gb")
    assert laptop.memory_bytes == 16 * GiB and laptop.describe() == "laptop-16gb (16.0 GB RAM)"
    two = resolve_target(gpu="24GB", gpus=2)
    assert two.describe() == "16.0 GB RAM + 2 x 24.0 GB GPU"
    assert sum(g.free_bytes for g in two.memory().gpus) == 48 * GiB
    settings.ensure()
    (settings.home / "machines.yaml").write_text(
        "version: 1\nmachines:\n  my-box: {memory: 32GB, gpu: 12GB, bandwidth: 500}\n"
    )
    mine = resolve_target(machine="my-box", home=settings.home)
    assert (mine.gpus, mine.bandwidth_gbs) == (1, 500)
    with pytest.raises(FitError, match="unknown machine"):
        resolve_target(machine="nope", home=settings.home)
    with pytest.raises(FitError, match="--gpus needs"):
        resolve_target(gpus=2)


def test_fit_verdict_follows_the_target(settings) -> None:  # type: ignore[no-untyped-def]
    small = estimate_fit("allenai/OLMo-7B", target=resolve_target(memory="8GB"))
    big = estimate_fit("allenai/OLMo-7B", target=resolve_target(memory="64GB"))
    assert small.verdict != big.verdict and big.verdict == "fits comfortably"
    assert big.machine_name == "64.0 GB RAM" and big.bandwidth_source.startswith("conservative")
    gpu = estimate_fit("allenai/OLMo-7B", target=resolve_target(machine="gpu-24gb"))
    assert gpu.target == "gpu" and gpu.measured_tokens_per_s is None


def test_cli_fit_and_search_take_a_target(settings) -> None:  # type: ignore[no-untyped-def]
    run = CliRunner().invoke
    args = ["fit", "allenai/OLMo-7B", "--context", "4096"]
    small = run(app, [*args, "--memory", "8GB"])
    big = run(app, [*args, "--memory", "64GB"])
    assert small.exit_code == 0 and big.exit_code == 0, small.output
    assert "fits comfortably" in big.output and "fits comfortably" not in small.output
    assert "fit on 64.0 GB RAM" in " ".join(big.output.split())
    bad = run(app, [*args, "--machine", "toaster"])
    assert bad.exit_code != 0


def test_search_fits_comfortably_and_respects_trained_context(settings) -> None:  # type: ignore[no-untyped-def]
    cat = load_catalog()
    query = {"task": "chat", "label": "open source", "fits": True, "limit": 500}
    laptop = resolve_target(machine="laptop-16gb")
    asked = search_view(settings=settings, catalog=cat, target=laptop, context=8192,
                        min_context=8192, **query)  # fmt: skip
    ids = {r["id"] for r in asked["items"]}
    assert "allenai/OLMo-2-1124-7B-Instruct" not in ids  # trained for 4096 only
    assert all((r["context"] or 8192) >= 8192 for r in asked["items"])
    assert all(r["memory_needed_bytes"] <= 0.75 * 16 * GiB for r in asked["items"])
    tight = search_view(settings=settings, catalog=cat, target=laptop, tight=True, **query)
    comfy = search_view(settings=settings, catalog=cat, target=laptop, **query)
    assert comfy["total"] <= tight["total"]
    assert {r.get("fit") for r in tight["items"]} <= {"fits comfortably", "tight"}
    assert asked["machine"] == "laptop-16gb (16.0 GB RAM)"


def test_web_catalog_and_model_page_take_the_target(settings) -> None:  # type: ignore[no-untyped-def]
    from openscout.server.app import create_app

    c = TestClient(create_app(settings), base_url="http://127.0.0.1:8765")
    page = c.get("/catalog", params={"q": "olmo", "fits": "1", "memory": "8GB"}).text
    assert "8.0 GB RAM" in page and "allenai/OLMo-2-1124-13B" not in page
    roomy = c.get("/catalog", params={"q": "olmo", "fits": "1", "machine": "desktop-64gb"}).text
    assert "allenai/OLMo-2-1124-13B" in roomy
    small = c.get("/models/allenai/OLMo-7B", params={"memory": "8GB"}).text
    big = c.get("/models/allenai/OLMo-7B", params={"memory": "64GB"}).text
    assert "64.0 GB RAM" in big and "fits comfortably" in big.split('id="fit"')[1][:300]
    assert "fits comfortably" not in small.split('id="fit"')[1][:300]
    bad = c.get("/models/allenai/OLMo-7B", params={"machine": "toaster"}).text
    assert "unknown machine" in bad


@pytest.mark.parametrize(
    "machine",
    [
        "memory: .inf",
        "memory: 16GB\n    gpu: 1GB\n    gpus: 3000000",  # 52 s and 2.5 GB, one object a GPU
        "memory: 16GB\n    gpus: true",
        "memory: 16GB\n    bandwidth: .nan",
        "memory: " + "9" * 400,  # a YAML int: float() overflowed (twelfth probe)
    ],
    ids=["infinite memory", "3 M GPUs", "gpus true", "bandwidth NaN", "400-digit int"],
)
def test_a_machine_past_any_real_one_is_a_fit_error(tmp_path, machine: str) -> None:  # type: ignore[no-untyped-def]
    """Ninth probe: an OverflowError ("unexpected error", a 500 on /catalog) or minutes of
    CPU on the event loop."""
    (tmp_path / "machines.yaml").write_text(f"machines:\n  box:\n    {machine}\n")
    with pytest.raises(FitError):
        resolve_target(machine="box", home=tmp_path)


@pytest.mark.parametrize("memory", ["9" * 400 + "GB", "1e400"])
def test_a_memory_option_past_any_machine_is_a_fit_error(memory: str) -> None:
    with pytest.raises(FitError):
        resolve_target(memory=memory)
    with pytest.raises(FitError, match="from 0 to 64"):
        resolve_target(gpu="1GB", gpus=10_000_000)


def test_one_bad_machine_is_named_and_leaves_the_others_usable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A bad entry broke `fit --machine` for every other machine, without naming the file
    or the machine (tenth probe)."""
    (tmp_path / "machines.yaml").write_text(
        "machines:\n  Good-Box: {memory: 32GB}\n  broken: {memory: lots}\n"
    )
    assert resolve_target(machine="good-box", home=tmp_path).memory_bytes == 32 * GiB
    assert resolve_target(machine="laptop-16gb", home=tmp_path).memory_bytes == 16 * GiB
    with pytest.raises(FitError) as e:
        resolve_target(machine="broken", home=tmp_path)
    assert "machines.yaml: machine 'broken': not a memory size: 'lots'" in e.value.message
    with pytest.raises(FitError) as unknown:
        resolve_target(machine="nope", home=tmp_path)
    assert "good-box" in (unknown.value.hint or "")


def test_machines_yaml_is_read_once_per_change_and_bounded(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """240,000 machines in 6 MB were parsed on every `/catalog?machine=` request, 26 s each,
    on the server's event loop (eleventh probe)."""
    import os

    from openscout import yamlfile
    from openscout.errors import DataFileError

    reads: list[object] = []
    real = yamlfile.load_file
    monkeypatch.setattr(yamlfile, "load_file", lambda *a: reads.append(a) or real(*a))
    path = tmp_path / "machines.yaml"
    path.write_text("machines:\n  box: {memory: 32GB}\n")
    for _ in range(3):
        assert resolve_target(machine="box", home=tmp_path).memory_bytes == 32 * GiB
    assert len(reads) == 1
    path.write_text("machines:\n  box: {memory: 64GB}\n")
    os.utime(path, ns=(1, 10**18))  # a new stamp even within the clock's resolution
    assert resolve_target(machine="box", home=tmp_path).memory_bytes == 64 * GiB
    assert len(reads) == 2
    path.write_text("machines:\n" + "".join(f"  m{i}: {{memory: 16GB}}\n" for i in range(5000)))
    with pytest.raises(DataFileError, match="65536"):
        resolve_target(machine="m5", home=tmp_path)
