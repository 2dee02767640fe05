"""Each fine-tune writes its own folder and catalog file: `a/b` and `a:b` shared one, so a later
fine-tune replaced an earlier one's adapter, and `--name mine` replaced the user's own
`catalog/mine.yaml` (nineteenth probe)."""

from __future__ import annotations

from pathlib import Path

import pytest

from openscout.config import Settings
from openscout.errors import TuneError
from openscout.tune import names
from openscout.tune.register import catalog_id, catalog_path
from openscout.tune.run import TuneRequest, run_dir, tune
from tests.tune.conftest import BASE, write_jsonl

PAIR = {"prompt": "Say hi.", "completion": "hi"}


def test_ids_that_differ_get_folders_and_catalog_ids_that_differ(settings: Settings) -> None:
    ids = ["a/b", "a:b", "a_b", "a-b", "a-b-", "a.b", "x" * 128, "x" * 127 + "y"]
    assert len({run_dir(settings, i) for i in ids}) == len(ids)
    assert len({catalog_id(i) for i in ids}) == len(ids)
    assert run_dir(settings, "smollm2-city-json").name == "smollm2-city-json"  # readable as before
    assert all(len(names.stem(i)) <= names.MAX_STEM + 13 for i in ids)


def test_a_folder_of_another_id_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / names.stem("a/b")
    names.claim_folder(folder, "a/b")
    names.claim_folder(folder, "a/b")  # its own: fine, again
    with pytest.raises(TuneError, match="holds the fine-tune 'a/b'"):
        names.claim_folder(folder, folder.name)  # an id spelt like the other's stem


def test_the_users_own_catalog_file_is_never_replaced(settings: Settings, tmp_path: Path) -> None:
    mine = catalog_path(settings, "mine")
    mine.parent.mkdir(parents=True)
    precious = "version: 1\nmodels:\n- id: myorg/precious-model\n"
    mine.write_text(precious, encoding="utf-8")
    data = write_jsonl(tmp_path / "d.jsonl", [PAIR] * 4)
    with pytest.raises(TuneError, match="was not written by `openscout tune` for 'mine'"):
        tune(settings, TuneRequest(base=BASE, data=str(data), name="mine", steps=1))
    assert mine.read_text(encoding="utf-8") == precious
    assert not run_dir(settings, "mine").exists()  # refused before anything was made
    names.check_catalog_file(catalog_path(settings, "t"), "t")  # no file yet: fine
    catalog_path(settings, "t").write_text(names.catalog_header("t") + precious)
    names.check_catalog_file(catalog_path(settings, "t"), "t")  # tune's own, for this id: fine
    with pytest.raises(TuneError):
        names.check_catalog_file(catalog_path(settings, "t"), "t2")
