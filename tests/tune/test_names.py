"""Each fine-tune writes its own folder and catalog file: `a/b` and `a:b` shared one, so a later
fine-tune replaced an earlier one's adapter, and `--name mine` replaced the user's own
`catalog/mine.yaml` (nineteenth probe)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from openscout.config import Settings
from openscout.errors import DataFileError, TuneError
from openscout.tune import names, register
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


def test_a_name_being_tuned_is_refused_to_a_second_run(settings: Settings, tmp_path: Path) -> None:
    """Two `tune --name t2` at once shared a folder and a checkpoint, and the later one's
    model silently replaced the earlier one's (30th probe, medium)."""
    pytest.importorskip("peft")
    from openscout.filelock import one_writer
    from openscout.tune.run import name_lock

    data = write_jsonl(tmp_path / "d.jsonl", [PAIR] * 4)
    busy = "another `openscout tune` is making 't2' now"
    # the lock held as a run of that name in another process holds it
    with one_writer(name_lock(settings, "t2")), pytest.raises(TuneError, match=busy):
        tune(settings, TuneRequest(base=BASE, data=str(data), name="t2", steps=1))
    assert not run_dir(settings, "t2").exists()  # refused before anything was made
    assert name_lock(settings, "a.b") != name_lock(settings, "a.c")


@pytest.mark.real_model
def test_a_model_registered_while_training_is_not_replaced(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`models add t5 ...` while `tune --name t5` trained: the tune then replaced it without
    --replace and without a word (30th probe, medium)."""
    pytest.importorskip("peft")
    from openscout.engines.spec import ModelSpec
    from openscout.models import add_model, get_model
    from openscout.tune import run

    train = run._train

    def meanwhile(*args, **kwargs):  # type: ignore[no-untyped-def]
        model = train(*args, **kwargs)
        mine = ModelSpec(id="t5", engine="mock", license="MyOwn-1.0")
        add_model(settings, mine)  # the user's own model, registered while this one trained
        return model

    monkeypatch.setattr(run, "_train", meanwhile)
    data = write_jsonl(tmp_path / "d.jsonl", [PAIR] * 4)
    request = TuneRequest(base=BASE, data=str(data), name="t5", steps=1, batch=1, rank=1)
    with pytest.raises(TuneError, match="'t5' was registered while this fine-tune trained"):
        tune(settings, request)
    assert get_model(settings, "t5").license == "MyOwn-1.0"


@pytest.mark.parametrize("planted", ["owner file", "folder", "adapter", "checkpoint"])
def test_a_link_in_a_fine_tunes_folder_is_refused_not_followed(
    settings: Settings, tmp_path: Path, planted: str
) -> None:
    """A dangling link at `model-id.txt` made tune write a file outside the data dir, and a
    folder linked at `tune/<name>` got the adapter written into it and its own `adapter/`
    deleted (30th probe, medium)."""
    outside = tmp_path / "outside"
    (outside / "adapter").mkdir(parents=True)
    (outside / "adapter" / "notes.txt").write_text("precious")
    folder = run_dir(settings, "t6")
    folder.parent.mkdir(parents=True)
    if planted == "folder":
        folder.symlink_to(outside, target_is_directory=True)
    else:
        folder.mkdir()
        target = {"owner file": outside / "planted.txt", "adapter": outside / "adapter"}
        name = {"owner file": names.OWNER_FILE, "adapter": "adapter"}.get(planted)
        name = name or "checkpoint.safetensors"
        (folder / name).symlink_to(target.get(planted, outside / "ckpt"))
    with pytest.raises(TuneError, match="is a link or not a regular file"):
        names.claim_folder(folder, "t6")
    assert sorted(p.name for p in outside.rglob("*")) == ["adapter", "notes.txt"]


def test_a_pipe_as_the_folders_owner_file_is_refused_not_waited_on(
    settings: Settings, tmp_path: Path
) -> None:
    """A FIFO at `tune/<name>/model-id.txt` held `openscout tune` for ever (31st probe, low)."""
    folder = run_dir(settings, "ff")
    folder.mkdir(parents=True)
    os.mkfifo(folder / names.OWNER_FILE)
    with pytest.raises(TuneError, match="not a regular file"):
        names.claim_folder(folder, "ff")
    (folder / names.OWNER_FILE).unlink()
    os.mkfifo(folder / "checkpoint.safetensors")  # read before any training: held it too
    with pytest.raises(TuneError, match="not a regular file"):
        names.claim_folder(folder, "ff")
    catalog = catalog_path(settings, "ff")  # and the catalog file (32nd probe, low)
    catalog.parent.mkdir(parents=True)
    os.mkfifo(catalog)
    with pytest.raises(DataFileError, match="not a regular file"):
        names.check_catalog_file(catalog, "ff")


def test_a_fine_tune_named_like_a_users_own_entry_stays_out_of_the_catalog(
    settings: Settings,
) -> None:
    """`tune --name t5` beside the user's own `local/t5` entry said "added to the catalog",
    and from then on none of the user's catalog files loaded (31st probe, medium)."""
    from openscout.catalog.loader import load_user_catalog
    from openscout.models import get_model

    own = "version: 1\nmodels:\n- {id: local/t5, name: mine, organisation: me, family: mine,"
    own += " released: '2025-01-01', params_b: 0.1, license: MIT, tasks: [chat]}\n"
    (settings.home / "catalog").mkdir(parents=True)
    (settings.home / "catalog" / "mine5.yaml").write_text(own)
    info = {
        "data_path": "/d.jsonl", "data_sha256": "ab" * 32, "run_id": "r", "rank": 4,
        "targets": ["q_proj"], "n_train": 8, "n_heldout": 2, "adapter_gguf": "/a.gguf",
        "params": 134_515_008,
    }  # fmt: skip
    entry = register.catalog_entry(settings, get_model(settings, BASE), "t5", info)
    with pytest.raises(DataFileError, match="duplicate id"):
        register.write_catalog_entry(settings, entry, "t5")
    assert not catalog_path(settings, "t5").exists()
    assert load_user_catalog(settings.home).get("local/t5").name == "mine"  # still loads
