from pathlib import Path

import pytest

from openscout.config import Settings
from openscout.errors import ConfigError, DataFileError, ModelFileError, ModelNotFoundError
from openscout.models import ModelSpec, add_model, get_model, list_models, remove_model
from tests.gguf_factory import write_gguf


def test_fresh_install_has_both_embedded_models(settings: Settings) -> None:
    ids = [m.id for m in list_models(settings)]
    assert ids[:2] == ["smollm2-135m-instruct", "gemma-3-270m"]


def test_add_show_remove_local_gguf(settings: Settings, tmp_path: Path) -> None:
    f = write_gguf(tmp_path / "tiny.gguf")
    add_model(settings, ModelSpec(id="tiny", engine="llamacpp", path=str(f)))
    assert get_model(settings, "tiny").path == str(f.resolve())
    with pytest.raises(ConfigError, match="already registered"):
        add_model(settings, ModelSpec(id="tiny", engine="llamacpp", path=str(f)))
    remove_model(settings, "tiny")
    with pytest.raises(ModelNotFoundError):
        get_model(settings, "tiny")


def test_add_refuses_bad_inputs(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no such file"):
        add_model(settings, ModelSpec(id="a", engine="llamacpp", path=str(tmp_path / "none.gguf")))
    junk = tmp_path / "junk.gguf"
    junk.write_text("hello")
    with pytest.raises(ModelFileError, match="not a GGUF"):
        add_model(settings, ModelSpec(id="a", engine="llamacpp", path=str(junk)))
    with pytest.raises(ConfigError, match="not an http"):
        add_model(settings, ModelSpec(id="a", engine="openai", base_url="localhost:8000"))
    with pytest.raises(ConfigError, match="not allowed"):
        add_model(settings, ModelSpec(id="../evil", engine="openai", base_url="http://x/v1"))
    for url in ("http://127.0.0.1:abc/v1", "http://127.0.0.1:99999/v1", "http://[::1/v1"):
        with pytest.raises(ConfigError, match="not a valid URL"):  # was a ValueError (probe 11)
            add_model(settings, ModelSpec(id="a", engine="openai", base_url=url))
    assert not settings.models_file.exists(), "nothing written when validation fails"


def test_embedded_models_cannot_be_removed(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="embedded"):
        remove_model(settings, "gemma-3-270m")


def test_malformed_yaml_names_the_line(settings: Settings) -> None:
    settings.ensure()
    settings.models_file.write_text("version: 1\nmodels:\n  - id: a\n    engine: [unclosed\n")
    with pytest.raises(DataFileError, match=r"models.yaml:\d+"):
        list_models(settings)


def test_bad_field_names_entry_and_field(settings: Settings) -> None:
    settings.ensure()
    settings.models_file.write_text("version: 1\nmodels:\n  - id: good\n    engine: warp-drive\n")
    with pytest.raises(DataFileError, match="entry 'good', field 'engine'"):
        list_models(settings)


@pytest.mark.parametrize(
    ("ids", "said"),
    [
        (["mock", "other", "mock"], "models.yaml:7: the id 'mock' appears twice"),
        (["ok", "a\\e[31mred"], r"models.yaml:5: model id 'a\\x1b\[31mred' is not allowed"),
        (["../up"], "is not allowed"),
    ],
)
def test_ids_written_by_hand_are_held_to_what_add_allows(
    settings: Settings, ids: list[str], said: str
) -> None:
    """A terminal escape in an id reached report.md; a second entry of an id was silently
    ignored (nineteenth probe)."""
    settings.ensure()
    entries = "".join(f'  - id: "{i}"\n    engine: mock\n' for i in ids)
    settings.models_file.write_text("version: 1\nmodels:\n" + entries)
    with pytest.raises(DataFileError, match=said):
        list_models(settings)


@pytest.mark.parametrize(
    "entry",
    [
        "engine: openai\n    base_url: http://127.0.0.1:abc/v1",
        "engine: mock\n    options: {bogus: 1}",
        "engine: mock\n    options: {delay_s: x}",
        "engine: mock\n    options: {loglik_bias: [1]}",
        "engine: mock\n    options: {max_parallel: abc}",
        "engine: mock\n    options: {max_parallel: 0}",
    ],
)
def test_an_entry_its_kind_cannot_build_is_a_config_error(settings: Settings, entry: str) -> None:
    """Written by hand into models.yaml, these were "unexpected error: TypeError" in the CLI
    and a 500 from the API (eleventh probe)."""
    from openscout.engines.loader import load_engine, open_engine

    settings.ensure()
    settings.models_file.write_text(f"version: 1\nmodels:\n  - id: odd\n    {entry}\n")
    spec = get_model(settings, "odd")
    for opening in (load_engine, open_engine):
        with pytest.raises(ConfigError, match="'odd' cannot be set up from its entry"):
            opening(spec, settings).stream_chat  # noqa: B018


@pytest.mark.parametrize(
    "options",
    [
        "{timeout_s: .inf}",
        "{timeout_s: -1}",
        "{timeout_s: abc}",
        "{transport: x}",
        "{max_parallel: abc}",
        "{max_parallel: .inf}",
    ],
)
def test_openai_options_of_the_wrong_kind_are_refused(settings: Settings, options: str) -> None:
    """Each was a 500 at the first request, or "unexpected error" (twelfth probe)."""
    from openscout.engines.loader import open_engine

    settings.ensure()
    settings.models_file.write_text(
        "version: 1\nmodels:\n  - id: odd\n    engine: openai\n"
        f"    base_url: http://127.0.0.1:9/v1\n    options: {options}\n"
    )
    with pytest.raises(ConfigError, match="not what the openai engine takes"):
        open_engine(get_model(settings, "odd"), settings)
    with pytest.raises(ConfigError, match="not what the openai engine takes"):
        add_model(
            settings,
            ModelSpec(
                id="new",
                engine="openai",
                base_url="http://x/v1",
                options={"timeout_s": float("inf")},
            ),
        )


def test_a_new_data_dir_is_the_user_s_alone(tmp_path: Path) -> None:
    """The database (chats, prompts) was created readable by every local user (probe 12)."""
    import stat

    settings = Settings(home=tmp_path / "deep" / "home").ensure()
    assert stat.S_IMODE(settings.home.stat().st_mode) == 0o700
    settings.ensure()  # again: nothing changes, nothing fails


def test_registrations_made_at_once_are_all_kept(
    settings: Settings, cli_env: dict[str, str]
) -> None:
    """Eight `models add` at once each said "added" and one was lost: models.yaml was read,
    changed and replaced with no lock, the last writer winning (seventeenth probe)."""
    import subprocess

    from tests.reliability.helpers import CLI

    procs = [
        subprocess.Popen(
            [*CLI, "models", "add", f"q{i}", "--url", "http://127.0.0.1:9/v1"],
            env=cli_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for i in range(8)
    ]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read() if p.stderr else ""
    kept = {m.id for m in list_models(settings)}
    assert {f"q{i}" for i in range(8)} <= kept
    removers = [
        subprocess.Popen([*CLI, "models", "remove", f"q{i}"], env=cli_env) for i in range(4)
    ]
    assert all(p.wait(timeout=120) == 0 for p in removers)
    assert {m.id for m in list_models(settings)} >= {"q4", "q5", "q6", "q7"}
    assert not {m.id for m in list_models(settings)} & {"q0", "q1", "q2", "q3"}


def test_a_path_that_is_not_utf8_is_refused_and_the_registry_stays_readable(
    settings: Settings, tmp_path: Path
) -> None:
    """A file name that is not UTF-8 came in with a lone surrogate and was written as an
    escape YAML's reader refuses: every command and every model of `serve` stopped, and no
    command could repair the file (twenty-second probe)."""
    from pydantic import ValidationError

    good = write_gguf(tmp_path / "tiny.gguf")
    add_model(settings, ModelSpec(id="tiny", engine="llamacpp", path=str(good)))
    odd = write_gguf(tmp_path / "m\udcff.gguf")  # the bytes m, 0xFF on disk
    with pytest.raises(ValidationError, match="not UTF-8 text"):
        add_model(settings, ModelSpec(id="odd", engine="llamacpp", path=str(odd)))
    with pytest.raises(ConfigError, match="would not read back"):  # the writer's own check
        add_model(
            settings,
            ModelSpec.model_construct(id="odd", engine="openai", base_url="http://x/v1",
                                      description="caf\udce9"),
        )  # fmt: skip
    assert [m.id for m in list_models(settings)][-1] == "tiny"  # still readable, unchanged


@pytest.mark.parametrize("planted", ["folder", "link"])
def test_a_planted_lock_file_is_a_clear_error_and_nothing_is_made_outside(
    settings: Settings, tmp_path: Path, planted: str
) -> None:
    """A folder at models.yaml.lock was "unexpected error"; a link there made a file where
    it pointed, outside the data dir (twenty-fifth probe)."""
    settings.ensure()
    lock = settings.models_file.with_name("models.yaml.lock")
    outside = tmp_path / "made-by-the-lock"
    if planted == "folder":
        lock.mkdir()
    else:
        lock.symlink_to(outside)
    with pytest.raises(DataFileError, match="cannot serve as a lock"):
        add_model(settings, ModelSpec(id="x", engine="openai", base_url="http://127.0.0.1:9/v1"))
    assert not outside.exists()
