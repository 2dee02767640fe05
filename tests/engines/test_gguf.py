import contextlib
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from openscout.engines.gguf import read_header
from openscout.errors import ModelFileError
from tests.gguf_factory import gguf_bytes, write_gguf


def test_reads_bundled_smollm2_header(smollm2_path: Path) -> None:
    h = read_header(smollm2_path)
    assert h.architecture == "llama"
    assert 120e6 < h.parameter_count < 150e6  # SmolLM2-135M
    assert h.quantization == "Q4_1"
    assert h.context_length == 8192
    assert h.chat_template and "im_start" in h.chat_template
    assert h.n_layers == 30 and h.n_kv_heads == 3 and h.head_dim == 64


def test_reads_gemma_header(gemma_path: Path) -> None:
    h = read_header(gemma_path)
    assert h.architecture == "gemma3"
    assert h.quantization == "Q4_K_M"
    assert 200e6 < h.parameter_count < 300e6


def test_synthetic_file_round_trips(tmp_path: Path) -> None:
    p = write_gguf(
        tmp_path / "m.gguf",
        metadata={"general.architecture": "llama", "llama.block_count": 2, "general.file_type": 15},
    )
    h = read_header(p)
    assert h.n_layers == 2 and h.quantization == "Q4_K_M" and h.parameter_count == 16


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no such file"):
        read_header(tmp_path / "nope.gguf")


def test_not_gguf(tmp_path: Path) -> None:
    p = tmp_path / "x.gguf"
    p.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(ModelFileError, match="not a GGUF file"):
        read_header(p)


def test_truncated_real_file(tmp_path: Path, smollm2_path: Path) -> None:
    p = tmp_path / "cut.gguf"
    with smollm2_path.open("rb") as f:
        p.write_bytes(f.read(5_000_000))
    with pytest.raises(ModelFileError, match="truncated"):
        read_header(p)


def test_truncated_inside_header(tmp_path: Path) -> None:
    p = tmp_path / "cut.gguf"
    p.write_bytes(gguf_bytes()[:40])
    with pytest.raises(ModelFileError, match="not a valid GGUF"):
        read_header(p)


@pytest.mark.parametrize(
    "blob, what",
    [
        (b"GGUF" + struct.pack("<IQQ", 3, 10**12, 0) + b"\0" * 64, "tensors exceeds"),
        (b"GGUF" + struct.pack("<IQQ", 3, 0, 10**12) + b"\0" * 64, "metadata entries exceeds"),
        (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 2**60) + b"\0" * 64, "exceeds"),
        (b"GGUF" + struct.pack("<IQQ", 99, 0, 0) + b"\0" * 64, "unsupported GGUF version"),
    ],
)
def test_hostile_headers_are_refused(tmp_path: Path, blob: bytes, what: str) -> None:
    p = tmp_path / "evil.gguf"
    p.write_bytes(blob)
    with pytest.raises(ModelFileError, match=what):
        read_header(p)


def test_huge_array_count_refused(tmp_path: Path) -> None:
    body = struct.pack("<Q", 3) + b"arr" + struct.pack("<IIQ", 9, 4, 2**40)
    p = tmp_path / "evil.gguf"
    p.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + body + b"\0" * 64)
    with pytest.raises(ModelFileError, match="array"):
        read_header(p)


@hsettings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(min_value=0, max_value=200))
def test_fuzz_never_crashes_with_anything_but_model_file_error(
    tmp_path_factory, junk: bytes, cut: int
) -> None:
    base = gguf_bytes(metadata={"general.architecture": "llama", "k": "v", "a": [1, 2, 3]})
    blob = base[:cut] + junk + base[cut:]
    p = tmp_path_factory.mktemp("fuzz") / "f.gguf"
    p.write_bytes(blob)
    with contextlib.suppress(ModelFileError):
        read_header(p)


def test_a_header_of_many_small_arrays_is_refused_quickly(tmp_path: Path) -> None:
    """Nested arrays each within every per-array limit once took minutes and a gigabyte to
    parse (independent probe, issue 17): the whole header has a budget of values."""
    from openscout.engines.gguf import KEEP_ARRAY, MAX_VALUES

    inner = struct.pack("<IQ", 4, KEEP_ARRAY) + b"\0" * (4 * KEEP_ARRAY)  # 64 uint32s
    n = MAX_VALUES // KEEP_ARRAY + 10
    key = struct.pack("<Q", 4) + b"many" + struct.pack("<IIQ", 9, 9, n) + inner * n
    blob = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + key
    path = tmp_path / "many.gguf"
    path.write_bytes(blob)
    with pytest.raises(ModelFileError, match="more than"):
        read_header(path)


def test_a_header_of_many_large_strings_is_refused(tmp_path: Path) -> None:
    """150 strings of 16 MiB in a sparse file took 2.5 GB to read (second probe): the header
    has a budget of string bytes too."""
    from openscout.engines.gguf import MAX_STRING, MAX_STRING_BYTES

    n = MAX_STRING_BYTES // MAX_STRING + 2
    path = tmp_path / "strings.gguf"
    with path.open("wb") as f:
        f.write(b"GGUF" + struct.pack("<IQQ", 3, 0, n))
        for i in range(n):
            key = f"k{i}".encode()
            f.write(struct.pack("<Q", len(key)) + key + struct.pack("<IQ", 8, MAX_STRING))
            f.seek(MAX_STRING, 1)  # a hole: no disk used
        f.write(b"\0" * 64)
    with pytest.raises(ModelFileError, match="bytes of strings"):
        read_header(path)


def _strings_file(path: Path, n: int, size: int, last: bytes) -> Path:
    """n metadata strings of `size` bytes: zeros (a sparse hole) ending in `last`."""
    with path.open("wb") as f:
        f.write(b"GGUF" + struct.pack("<IQQ", 3, 0, n))
        for i in range(n):
            key = f"k{i}".encode()
            f.write(struct.pack("<Q", len(key)) + key + struct.pack("<IQ", 8, size))
            f.seek(size - len(last), 1)
            f.write(last)
        f.write(b"\0" * 64)
    return path


def test_strings_are_counted_as_the_memory_they_take(tmp_path: Path) -> None:
    """One emoji makes Python keep 4 bytes a character: 15 strings of 16 MiB took 1 GB within
    the byte budget, and three views of the model's page at once a 500 (sixteenth probe)."""
    import tracemalloc

    path = _strings_file(tmp_path / "astral.gguf", 3, 8 * 2**20, "\U0001f600".encode())
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="bytes of strings"):
            read_header(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 90 * 2**20, f"peak {peak / 2**20:.0f} MB"


def test_a_vocabulary_is_passed_over_not_decoded(tmp_path: Path) -> None:
    from openscout.engines.gguf import KEEP_ARRAY

    tokens = [f"tok{i}" for i in range(5000)]
    p = write_gguf(
        tmp_path / "v.gguf",
        metadata={"general.architecture": "llama", "tokenizer.ggml.tokens": tokens},
    )
    assert int(read_header(p).get("tokenizer.ggml.tokens")) == 5000 > KEEP_ARRAY


def test_more_metadata_entries_than_real_files_hold_are_refused(tmp_path: Path) -> None:
    """llama-cpp-python reads entries by index and llama.cpp walks its map to each one:
    99,000 string keys held the load check (and, through it, serve) for minutes
    (twenty-first probe). Real files hold 30 to a few hundred."""
    from openscout.engines.gguf import MAX_KV

    keys = {"general.architecture": "llama", **{f"x.k{i}": "v" for i in range(MAX_KV - 1)}}
    assert read_header(write_gguf(tmp_path / "at.gguf", metadata=keys)).get("x.k0") == "v"
    keys["x.one-more"] = "v"
    with pytest.raises(ModelFileError, match=f"{MAX_KV + 1} metadata entries exceeds"):
        read_header(write_gguf(tmp_path / "over.gguf", metadata=keys))
