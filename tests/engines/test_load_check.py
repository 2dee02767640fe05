"""A GGUF file llama.cpp would abort on is opened in a child first and refused with a clear
error: a block_count of 0 killed `serve` with the first request for it (nineteenth probe)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from openscout.config import Settings
from openscout.engines import load_check
from openscout.engines.llamacpp import LlamaCppEngine
from openscout.errors import ModelFileError
from tests.evals.helpers import add_mock
from tests.gguf_factory import copy_with_metadata
from tests.reliability.helpers import cli, serve

pytestmark = pytest.mark.real_model
pytest.importorskip("gguf")

# each aborts llama.cpp (a GGML_ASSERT) in the build openscout installs
ABORTS = {
    "no layers": {"llama.block_count": 0},
    "experts never used": {"llama.expert_count": 4},
    "a token spelt twice": "duplicate token",  # the vocabulary: no header check reads it
}


def _changes(case: dict[str, int] | str, src: Path) -> dict[str, object]:
    if isinstance(case, dict):
        return dict(case)
    from gguf import GGUFReader

    field = GGUFReader(src).fields["tokenizer.ggml.tokens"]
    tokens = [bytes(field.parts[i]).decode("utf-8") for i in field.data]
    tokens[1002] = tokens[1003]
    return {"tokenizer.ggml.tokens": tokens}


@pytest.mark.parametrize("case", ABORTS.values(), ids=ABORTS.keys())
def test_a_file_llama_cpp_aborts_on_is_refused(
    tmp_path: Path, smollm2_path: Path, case: dict[str, int] | str
) -> None:
    bad = copy_with_metadata(smollm2_path, tmp_path / "bad.gguf", _changes(case, smollm2_path))
    with pytest.raises(
        ModelFileError, match=r"llama\.cpp crashed opening bad\.gguf \(SIGABRT\): llama-"
    ):
        LlamaCppEngine("bad", bad)  # this process survives to see the error


def test_a_sound_copy_opens_and_its_verdict_is_kept(tmp_path: Path, smollm2_path: Path) -> None:
    good = copy_with_metadata(smollm2_path, tmp_path / "good.gguf", {})
    LlamaCppEngine("good", good).close()
    assert (load_check._version(good), None) in load_check._passed
    good.write_bytes(good.read_bytes())  # a new version of the file is checked again
    assert (load_check._version(good), None) not in load_check._passed


def test_serve_answers_an_error_and_stays_up(
    tmp_path: Path, cli_env: dict[str, str], settings: Settings, smollm2_path: Path
) -> None:
    add_mock(settings, "mock")  # the server's preloaded model
    bad = copy_with_metadata(smollm2_path, tmp_path / "blocks0.gguf", ABORTS["no layers"])
    cli(cli_env, "models", "add", "blocks0", "--path", str(bad))
    log = tmp_path / "serve.log"
    with serve(cli_env, log=log) as (url, proc):
        r = httpx.post(
            url + "/v1/chat/completions",
            json={"model": "blocks0", "messages": [{"role": "user", "content": "hi"}]},
            timeout=60,
        )
        assert r.status_code == 503 and r.json()["error"]["code"] == "model_unavailable"
        assert proc.poll() is None
        assert httpx.get(url + "/health", timeout=5).status_code == 200
    assert "crashed opening blocks0.gguf (SIGABRT): llama-model.cpp" in log.read_text()
    gen = cli(cli_env, "generate", "-m", "blocks0", "hello", check=False)
    assert gen.returncode != 0 and "crashed opening blocks0.gguf" in gen.stderr
