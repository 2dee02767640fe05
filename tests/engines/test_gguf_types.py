"""GGUF metadata of the wrong type (probe F6): a key openscout reads holding a string, a float,
an array or an absurd integer is refused by the header reader, naming the key, the type found
and the type expected, so `models add`, `models show` and the model page never meet it raw."""

from __future__ import annotations

import math
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from openscout.engines.gguf import read_header
from openscout.errors import ModelFileError
from tests.gguf_factory import gguf_bytes

OPENSCOUT = [sys.executable, "-m", "openscout.cli.main"]

# a small but complete llama header: every key the fit, `models show` and the page read
GOOD = {
    "general.architecture": "llama",
    "general.name": "tiny",
    "general.file_type": 15,
    "llama.block_count": 2,
    "llama.context_length": 2048,
    "llama.embedding_length": 64,
    "llama.attention.head_count": 4,
    "llama.attention.head_count_kv": 2,
}


def _s(text: str) -> bytes:
    b = text.encode()
    return struct.pack("<Q", len(b)) + b


# raw typed values: (GGUF value type id + payload); the factory only writes a few types
def string(v: str) -> bytes:
    return struct.pack("<I", 8) + _s(v)


def f32(v: float) -> bytes:
    return struct.pack("<If", 6, v)


def f64(v: float) -> bytes:
    return struct.pack("<Id", 12, v)


def u64(v: int) -> bytes:
    return struct.pack("<IQ", 10, v)


def i32(v: int) -> bytes:
    return struct.pack("<Ii", 5, v)


def boolean(v: bool) -> bytes:
    return struct.pack("<I?", 7, v)


def u32_array(vs: list[int]) -> bytes:
    return struct.pack("<IIQ", 9, 4, len(vs)) + b"".join(struct.pack("<I", v) for v in vs)


def str_array(vs: list[str]) -> bytes:
    return struct.pack("<IIQ", 9, 8, len(vs)) + b"".join(_s(v) for v in vs)


def hostile(path: Path, raw: dict[str, bytes], drop: tuple[str, ...] = ()) -> Path:
    """GOOD with the keys in `raw` replaced by hand-typed values."""
    meta = {k: v for k, v in GOOD.items() if k not in raw and k not in drop}
    blob = gguf_bytes(metadata=meta)
    n_tensors = struct.unpack("<Q", blob[8:16])[0]
    extra = b"".join(_s(k) + v for k, v in raw.items())
    head = b"GGUF" + struct.pack("<IQQ", 3, n_tensors, len(meta) + len(raw))
    # the data section moves by len(extra); zero padding keeps every tensor inside the file
    path.write_bytes(head + extra + blob[24:] + b"\0" * 64)
    return path


# (key, raw value, what the error names as found)
WRONG = [
    ("llama.context_length", string("8192"), "string"),
    ("llama.attention.key_length", string("abc"), "string"),
    ("llama.context_length", f32(4096.0), "float"),
    ("llama.block_count", f64(math.nan), "float"),
    ("llama.embedding_length", f64(math.inf), "float"),
    ("llama.context_length", u32_array([1, 2, 3]), "array"),
    ("llama.context_length", u64(2**64 - 1), "out of range"),
    ("llama.attention.key_length", i32(-64), "out of range"),
    ("llama.block_count", boolean(True), "bool"),
    ("llama.attention.head_count", string("4"), "string"),
    ("llama.attention.head_count_kv", str_array(["2", "2"]), "array of 2 strings"),
    ("general.architecture", u64(5), "integer"),
    ("general.file_type", string("Q4_K_M"), "string"),
    ("general.name", u32_array([1]), "array"),
    ("tokenizer.chat_template", u64(1), "integer"),
    ("tokenizer.ggml.tokens", u64(32000), "integer"),
    ("tokenizer.ggml.tokens", u32_array([1, 2]), "array of 2 integers"),
    ("llama.expert_count", string("8"), "string"),
]


@pytest.mark.parametrize("key, raw, found", WRONG, ids=[f"{k}-{f}" for k, _, f in WRONG])
def test_wrong_type_is_refused_naming_key_and_types(
    tmp_path: Path, key: str, raw: bytes, found: str
) -> None:
    p = hostile(tmp_path / "bad.gguf", {key: raw})
    with pytest.raises(ModelFileError) as e:
        read_header(p)
    msg = e.value.message
    assert key in msg and found in msg and "expected" in msg, msg


def test_per_layer_head_counts_are_still_read(tmp_path: Path) -> None:
    p = hostile(
        tmp_path / "ok.gguf",
        {"llama.attention.head_count_kv": u32_array([0, 2, 2, 1]), "llama.context_length": i32(8)},
    )
    h = read_header(p)
    assert h.n_kv_heads == 2 and h.n_heads == 4 and h.context_length == 8 and h.head_dim == 16


def test_a_long_per_layer_array_is_unknown_not_its_length(tmp_path: Path) -> None:
    """An array longer than KEEP_ARRAY is kept only as its length; that length is not a head
    count (an 80-layer file once read as 80 heads)."""
    p = hostile(tmp_path / "long.gguf", {"llama.attention.head_count": u32_array([8] * 80)})
    assert read_header(p).n_heads is None


def test_more_experts_used_than_exist_is_refused(tmp_path: Path) -> None:
    p = hostile(
        tmp_path / "moe.gguf", {"llama.expert_count": u64(2), "llama.expert_used_count": u64(8)}
    )
    with pytest.raises(ModelFileError, match="expert_used_count"):
        read_header(p)


def test_a_bad_string_is_named_briefly_and_inertly(tmp_path: Path) -> None:
    p = hostile(tmp_path / "bad.gguf", {"llama.context_length": string("\x1b[2J" + "9" * 500)})
    with pytest.raises(ModelFileError) as e:
        read_header(p)
    assert "\x1b" not in e.value.message and len(e.value.message) < 400 + len(str(p))


# -- through the CLI and the web page -----------------------------------------------------------

CASES = [*WRONG[:4], WRONG[5]]  # string context, string key_length, floats, an array


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(OPENSCOUT + args, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("key, raw, found", CASES, ids=[f"{k}-{f}" for k, _, f in CASES])
def test_models_add_refuses_it_cleanly(
    tmp_path: Path, cli_env: dict[str, str], key: str, raw: bytes, found: str
) -> None:
    p = hostile(tmp_path / "bad.gguf", {key: raw})
    proc = _cli(["models", "add", "bad", "--path", str(p)], cli_env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "unexpected error" not in proc.stderr
    assert key in proc.stderr and found in proc.stderr, proc.stderr


def _register_then_spoil(settings: Any, tmp_path: Path, raw: dict[str, bytes]) -> Path:
    """A file registered while good, then replaced by a hostile one (or registered by an
    older openscout): `models add` is not the only way in."""
    from openscout.models import ModelSpec, add_model

    p = hostile(tmp_path / "m.gguf", {})
    add_model(settings, ModelSpec(id="spoilt", engine="llamacpp", path=str(p)))
    return hostile(p, raw)


@pytest.mark.parametrize("key, raw, found", CASES[:2], ids=["context", "key_length"])
def test_models_show_of_a_registered_bad_file_is_a_clear_error(
    tmp_path: Path, settings: Any, cli_env: dict[str, str], key: str, raw: bytes, found: str
) -> None:
    _register_then_spoil(settings, tmp_path, {key: raw})
    proc = _cli(["models", "show", "spoilt"], cli_env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "unexpected error" not in proc.stderr and "Traceback" not in proc.stderr
    assert key in proc.stderr, proc.stderr


@pytest.mark.parametrize("key, raw, found", CASES, ids=[f"{k}-{f}" for k, _, f in CASES])
def test_model_page_of_a_registered_bad_file_is_not_a_500(
    tmp_path: Path, settings: Any, key: str, raw: bytes, found: str
) -> None:
    from fastapi.testclient import TestClient

    from openscout.server.app import create_app
    from tests.server.conftest import BASE, mock_engines

    _register_then_spoil(settings, tmp_path, {key: raw})
    client = TestClient(create_app(settings, engines=mock_engines()), base_url=BASE)
    page = client.get("/models/spoilt?memory=16GB")
    assert page.status_code == 200, page.text[-500:]
    assert "spoilt" in page.text
