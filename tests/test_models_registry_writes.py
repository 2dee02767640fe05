"""How models.yaml is written (41st probe, low): a failed write left its `models.tmpPID`
behind for ever, and a models.yaml linked into a dotfiles repo was replaced by a copy (the
repo's file never saw the change, the link was gone)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from openscout.config import Settings
from openscout.engines.spec import ModelSpec
from openscout.errors import ConfigError
from openscout.models import add_model, list_models


def mock(model_id: str) -> ModelSpec:
    return ModelSpec(id=model_id, engine="mock")


def test_a_linked_registry_is_written_where_it_points(settings: Settings, tmp_path: Path) -> None:
    add_model(settings, mock("first"))
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "models.yaml"
    settings.models_file.rename(target)
    settings.models_file.symlink_to(target)

    add_model(settings, mock("second"))
    assert settings.models_file.is_symlink()
    assert "second" in target.read_text() and "first" in target.read_text()
    assert {"first", "second"} <= {m.id for m in list_models(settings)}


def test_a_failed_write_leaves_nothing_behind(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_model(settings, mock("first"))
    before = settings.models_file.read_text()
    real_replace = os.replace

    def disk_full(src, dst):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(ConfigError) as e:
        add_model(settings, mock("second"))
    monkeypatch.setattr(os, "replace", real_replace)
    assert "No space left" in e.value.message and "not changed" in str(e.value.hint)
    assert settings.models_file.read_text() == before
    left = sorted(p.name for p in settings.models_file.parent.iterdir())
    assert not [name for name in left if "tmp" in name], left
