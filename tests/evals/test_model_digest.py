"""The digest that keys a local model's cached answers: the whole file's sha256, read from a
regular file only, once per file version."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from openscout.config import Settings
from openscout.errors import ModelFileError
from openscout.evals import store
from openscout.evals.store import file_digest
from openscout.store.db import connect


def test_the_digest_is_of_the_whole_file(settings: Settings, smollm2_path: Path) -> None:
    conn = connect(settings.db_path)
    try:
        want = hashlib.sha256(smollm2_path.read_bytes()).hexdigest()
        assert file_digest(conn, smollm2_path) == want
        assert file_digest(conn, smollm2_path) == want  # remembered
    finally:
        conn.close()


def test_a_file_changed_only_between_its_edges_is_another_model(
    settings: Settings, smollm2_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The digest was of the size and the first and last MiB: a copy with 40 MiB of weights
    zeroed in the middle got the original's cached answers and score (37th probe, high)."""
    good, evil = tmp_path / "good.gguf", tmp_path / "evil.gguf"
    shutil.copyfile(smollm2_path, good)
    shutil.copyfile(smollm2_path, evil)
    with open(evil, "r+b") as f:
        f.seek(20 * 2**20)
        f.write(b"\0" * 2**20)
    conn = connect(settings.db_path)
    try:
        assert file_digest(conn, good) != file_digest(conn, evil)
        # and a version already read is remembered, not trusted across a write
        monkeypatch.setattr(store, "_read_digests", {})
        before = file_digest(conn, good)
        with open(good, "r+b") as f:
            f.seek(30 * 2**20)
            f.write(b"\1")
        assert file_digest(conn, good) != before
    finally:
        conn.close()


def test_a_pipe_named_as_a_model_is_refused_not_waited_on(
    settings: Settings, tmp_path: Path
) -> None:
    """`eval` and `compare` of a model whose path is a pipe hung for ever here (32nd probe,
    low); every other command refused it as not a regular file."""
    fifo = tmp_path / "model.gguf"
    os.mkfifo(fifo)
    conn = connect(settings.db_path)
    try:
        with pytest.raises(ModelFileError, match="not a regular file"):
            file_digest(conn, fifo)
    finally:
        conn.close()


def test_a_remote_model_s_identity_holds_no_credentials_but_tells_urls_apart(
    settings: Settings,
) -> None:
    """Every cached answer's row held `http://alice:pw-SECRET@host/v1?api_key=...` in clear
    (37th probe, low); dropping them made `?variant=bad` take `?variant=good`'s cached answers
    (38th probe, medium). The identity is the URL as shown and a digest of all of it."""
    from openscout.engines.spec import ModelSpec
    from openscout.evals.store import model_key

    def key(url: str) -> str:
        return model_key(conn, ModelSpec(id="r", engine="openai", base_url=url), settings)

    conn = connect(settings.db_path)
    try:
        secret = key("http://alice:pw-SECRET-987@127.0.0.1:18725/v1?api_key=QSECRET-555")
        assert "SECRET" not in secret and "127.0.0.1:18725/v1" in secret
        assert secret != key("http://127.0.0.1:18725/v1")
        good, bad = key("http://h:1/v1?variant=good"), key("http://h:1/v1?variant=bad")
        assert good != bad and good == key("http://h:1/v1?variant=good")
    finally:
        conn.close()


def test_a_model_registered_anew_on_an_endpoint_does_not_take_the_old_ones_answers(
    settings: Settings, tmp_path: Path
) -> None:
    """llama-server answers any model name with the model it loaded: after a swap behind the
    same URL and name, a model registered as `model-b` took `model-a`'s cached answers and
    score, 0 engine calls (40th probe F5). The registered id is part of the identity."""
    from openscout.evals.runner import run_eval
    from tests.engines.fake_openai import FakeServer, serve
    from tests.evals.test_remote_runs import add_remote

    suite = tmp_path / "s.yaml"
    suite.write_text(
        "prompts: ['{{q}}']\ntests:\n  - vars: {q: x}\n    assert: [{type: contains, value: '4'}]\n"
    )
    with serve(FakeServer("ok", reply=lambda p: "4")) as server:
        add_remote(settings, server.url, "model-a")
        assert run_eval(settings, str(suite), ["model-a"]).results["model-a"].score == 1.0
        server.reply = lambda p: "I do not know"  # another model loaded behind the URL
        add_remote(settings, server.url, "model-b")
        result = run_eval(settings, str(suite), ["model-b"]).results["model-b"]
    assert result.score == 0.0 and result.items[0]["engine_calls"] == 1


def test_a_model_removed_and_added_again_is_asked_anew(settings: Settings, tmp_path: Path) -> None:
    """`models remove local` and `models add local` (same URL, same name) after another model
    was loaded behind the URL kept the removed model's answers and score (42nd probe); so did
    registering it again `--no-logprobs` because its log-probs were wrong. Each registration
    of a remote model is its own."""
    from openscout.evals.runner import run_eval
    from openscout.models import remove_model
    from tests.engines.fake_openai import FakeServer, serve
    from tests.evals.test_remote_runs import add_remote

    suite = tmp_path / "s.yaml"
    suite.write_text(
        "prompts: ['{{q}}']\ntests:\n  - vars: {q: x}\n    assert: [{type: contains, value: '4'}]\n"
    )
    with serve(FakeServer("ok", reply=lambda p: "4")) as server:
        add_remote(settings, server.url, "local")
        assert run_eval(settings, str(suite), ["local"]).results["local"].score == 1.0
        server.reply = lambda p: "I do not know"
        remove_model(settings, "local")
        add_remote(settings, server.url, "local")
        result = run_eval(settings, str(suite), ["local"]).results["local"]
    assert result.score == 0.0 and result.items[0]["engine_calls"] == 1


def test_another_file_is_known_as_another_model_without_reading_it(
    settings: Settings, smollm2_path: Path, tmp_path: Path
) -> None:
    """Pages tell a result of a model since replaced under its id by the identity, which for a
    file is its digest: known without reading for a path a run read, never equal to a read
    one for a path no run read, and a file rewritten in place is the new one once read."""
    from openscout.engines.spec import ModelSpec

    path, other = tmp_path / "m.gguf", tmp_path / "other.gguf"
    shutil.copyfile(smollm2_path, path)
    shutil.copyfile(smollm2_path, other)
    spec = ModelSpec(id="m", engine="llamacpp", path=str(path))
    moved = ModelSpec(id="m", engine="llamacpp", path=str(other))
    conn = connect(settings.db_path)
    try:
        then = store.model_key(conn, spec, settings)
        assert store.known_model_key(conn, spec, settings) == then
        assert store.known_model_key(conn, moved, settings) != then  # never read: not it
        with open(path, "r+b") as f:  # another file at the same path
            f.seek(30 * 2**20)
            f.write(b"\1")
        assert store.model_key(conn, spec, settings) != then
        assert store.known_model_key(conn, spec, settings) == store.model_key(conn, spec, settings)
    finally:
        conn.close()
