"""Read a GGUF file's header without loading its weights, and refuse hostile ones.

Everything is bounded before it is allocated: counts and string lengths are checked against
fixed limits and against the bytes left in the file, so a truncated, corrupted or hostile
header fails here with a clear ModelFileError instead of reaching llama.cpp.
Format facts (value types, ggml block sizes, file-type ids) follow ggml's GGUF spec.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from openscout.errors import ModelFileError

MAGIC = b"GGUF"
MAX_TENSORS = 100_000
MAX_KV = 100_000
MAX_STRING = 16 * 2**20  # chat templates are kilobytes; 16 MiB is absurd already
MAX_ARRAY = 8_000_000  # vocabularies reach ~260k entries
# Values parsed one by one in the whole header: real files parse a few hundred thousand
# (Llama 3: 128k tokens + 280k merges); without a total, nested arrays within every per-array
# limit took minutes and a gigabyte (independent probe, issue 17).
MAX_VALUES = 2_000_000
# Bytes of strings in the whole header: vocabularies and merges hold a few MB; 150 strings of
# 16 MiB each (a sparse file of 600 KB on disk) took 2.5 GB to read (second probe).
MAX_STRING_BYTES = 256 * 2**20
MAX_DIMS = 8
KEEP_ARRAY = 64  # arrays longer than this are summarised, not kept (tokenizer vocabularies)

# value type id -> struct format (None: variable size)
_SCALAR = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9

# ggml tensor type id -> (elements per block, bytes per block)
GGML_BLOCK = {
    0: (1, 4),
    1: (1, 2),
    2: (32, 18),
    3: (32, 20),
    6: (32, 22),
    7: (32, 24),
    8: (32, 34),
    9: (32, 36),
    10: (256, 84),
    11: (256, 110),
    12: (256, 144),
    13: (256, 176),
    14: (256, 210),
    15: (256, 292),
    16: (256, 66),
    17: (256, 74),
    18: (256, 98),
    19: (256, 50),
    20: (32, 18),
    21: (256, 110),
    22: (256, 82),
    23: (256, 136),
    24: (1, 1),
    25: (1, 2),
    26: (1, 4),
    27: (1, 8),
    28: (1, 8),
    29: (256, 56),
    30: (1, 2),
    34: (256, 54),
    35: (256, 66),
}

# llama_ftype (general.file_type) -> quantization name
FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
}


@dataclass
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    def n_bytes(self) -> int | None:
        block = GGML_BLOCK.get(self.ggml_type)
        if block is None:
            return None
        per, size = block
        return (self.n_elements + per - 1) // per * size


@dataclass
class GGUFHeader:
    path: str
    version: int
    file_size: int
    metadata: dict[str, Any]
    tensors: list[TensorInfo] = field(default_factory=list)
    data_offset: int = 0

    def get(self, key: str, default: Any = None) -> Any:
        return self.metadata.get(key, default)

    @property
    def architecture(self) -> str | None:
        return self.get("general.architecture")

    def arch_key(self, suffix: str, default: Any = None) -> Any:
        return self.get(f"{self.architecture}.{suffix}", default)

    @property
    def parameter_count(self) -> int:
        return sum(t.n_elements for t in self.tensors)

    @property
    def context_length(self) -> int | None:
        return self.arch_key("context_length")

    @property
    def quantization(self) -> str | None:
        ft = self.get("general.file_type")
        return FILE_TYPES.get(ft, f"type {ft}") if ft is not None else None

    @property
    def chat_template(self) -> str | None:
        return self.get("tokenizer.chat_template")

    @property
    def license(self) -> str | None:
        return self.get("general.license")

    @property
    def n_layers(self) -> int | None:
        return self.arch_key("block_count")

    @property
    def n_heads(self) -> int | None:
        return _first_int(self.arch_key("attention.head_count"))

    @property
    def n_kv_heads(self) -> int | None:
        return _first_int(self.arch_key("attention.head_count_kv")) or self.n_heads

    @property
    def embedding_length(self) -> int | None:
        return self.arch_key("embedding_length")

    @property
    def head_dim(self) -> int | None:
        """K head size: explicit key_length when present, else embedding / heads."""
        explicit = self.arch_key("attention.key_length")
        if explicit:
            return int(explicit)
        if self.embedding_length and self.n_heads:
            return self.embedding_length // self.n_heads
        return None

    @property
    def value_head_dim(self) -> int | None:
        return self.arch_key("attention.value_length") or self.head_dim

    def summary(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "gguf_version": self.version,
            "file_size": self.file_size,
            "architecture": self.architecture,
            "name": self.get("general.name"),
            "parameters": self.parameter_count,
            "context_length": self.context_length,
            "quantization": self.quantization,
            "license": self.license,
            "chat_template_present": self.chat_template is not None,
            "layers": self.n_layers,
            "heads": self.n_heads,
            "kv_heads": self.n_kv_heads,
            "head_dim": self.head_dim,
            "embedding_length": self.embedding_length,
            "tensors": len(self.tensors),
        }


def _first_int(v: Any) -> int | None:
    if isinstance(v, list):  # per-layer arrays in some architectures
        ints = [x for x in v if isinstance(x, int) and x > 0]
        return max(ints) if ints else None
    return int(v) if isinstance(v, int) else None


class _Reader:
    def __init__(self, f: BinaryIO, size: int, path: str) -> None:
        self.f, self.size, self.path = f, size, path
        self.values_left = MAX_VALUES
        self.string_bytes_left = MAX_STRING_BYTES

    def fail(self, what: str) -> ModelFileError:
        return ModelFileError(
            f"{self.path}: not a valid GGUF file ({what})",
            hint="the file may be truncated or corrupted; download it again",
        )

    def read(self, n: int) -> bytes:
        if n < 0 or self.f.tell() + n > self.size:
            raise self.fail(f"needs {n} bytes at offset {self.f.tell()}, file has {self.size}")
        data = self.f.read(n)
        if len(data) != n:
            raise self.fail("short read")
        return data

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        n = self.unpack("<Q")
        if n > MAX_STRING:
            raise self.fail(f"string of {n} bytes exceeds the {MAX_STRING} byte limit")
        self.string_bytes_left -= n
        if self.string_bytes_left < 0:
            raise self.fail(f"the metadata holds more than {MAX_STRING_BYTES} bytes of strings")
        return self.read(n).decode("utf-8", errors="replace")

    def value(self, vtype: int, depth: int = 0) -> Any:
        self.values_left -= 1
        if self.values_left < 0:
            raise self.fail(f"the metadata holds more than {MAX_VALUES} values")
        if vtype in _SCALAR:
            return self.unpack(_SCALAR[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            if depth > 2:
                raise self.fail("arrays nested too deeply")
            itype = self.unpack("<I")
            count = self.unpack("<Q")
            if count > MAX_ARRAY:
                raise self.fail(f"array of {count} items exceeds the {MAX_ARRAY} limit")
            if itype in _SCALAR:
                width = struct.calcsize(_SCALAR[itype])
                if count * width > self.size - self.f.tell():
                    raise self.fail("array runs past the end of the file")
                if count > KEEP_ARRAY:
                    self.f.seek(count * width, os.SEEK_CUR)
                    return _Summary(count)
                self.values_left -= count
                if self.values_left < 0:
                    raise self.fail(f"the metadata holds more than {MAX_VALUES} values")
                return [self.unpack(_SCALAR[itype]) for _ in range(count)]
            items = [self.value(itype, depth + 1) for _ in range(count)]
            return items if count <= KEEP_ARRAY else _Summary(count)
        raise self.fail(f"unknown metadata value type {vtype}")


class _Summary(int):
    """Stands for a long array we skipped; its value is the length."""

    def __repr__(self) -> str:
        return f"<array of {int(self)} items>"


def read_header(path: str | os.PathLike[str]) -> GGUFHeader:
    """Parse and validate the header of a GGUF file. Raises ModelFileError on any fault."""
    p = Path(path)
    if not p.exists():
        raise ModelFileError(f"{p}: no such file", hint="check the path")
    if not p.is_file():
        raise ModelFileError(f"{p}: not a regular file")
    size = p.stat().st_size
    with p.open("rb") as f:
        r = _Reader(f, size, str(p))
        if size < 24 or f.read(4) != MAGIC:
            raise ModelFileError(
                f"{p}: not a GGUF file (missing 'GGUF' magic bytes)",
                hint="openscout runs GGUF models; convert others with llama.cpp's convert script",
            )
        version = r.unpack("<I")
        if version not in (2, 3):
            raise r.fail(f"unsupported GGUF version {version}")
        n_tensors, n_kv = r.unpack("<Q"), r.unpack("<Q")
        if n_tensors > MAX_TENSORS:
            raise r.fail(f"{n_tensors} tensors exceeds the {MAX_TENSORS} limit")
        if n_kv > MAX_KV:
            raise r.fail(f"{n_kv} metadata entries exceeds the {MAX_KV} limit")
        meta: dict[str, Any] = {}
        for _ in range(n_kv):
            key = r.string()
            meta[key] = r.value(r.unpack("<I"))
        tensors = [_tensor_info(r) for _ in range(n_tensors)]
        align = meta.get("general.alignment", 32)
        if not isinstance(align, int) or align <= 0 or align > 2**16:
            raise r.fail(f"bad alignment {align!r}")
        data_offset = (f.tell() + align - 1) // align * align
    header = GGUFHeader(str(p), version, size, meta, tensors, data_offset)
    _check_data_fits(header, r)
    return header


def _tensor_info(r: _Reader) -> TensorInfo:
    name = r.string()
    n_dims = r.unpack("<I")
    if n_dims == 0 or n_dims > MAX_DIMS:
        raise r.fail(f"tensor {name!r} has {n_dims} dimensions")
    shape = tuple(r.unpack("<Q") for _ in range(n_dims))
    if any(d == 0 or d > 2**40 for d in shape):
        raise r.fail(f"tensor {name!r} has an absurd shape {shape}")
    return TensorInfo(name, shape, r.unpack("<I"), r.unpack("<Q"))


def _check_data_fits(h: GGUFHeader, r: _Reader) -> None:
    """Every tensor's bytes must lie inside the file: this is what catches truncation."""
    for t in h.tensors:
        nbytes = t.n_bytes() or 0
        end = h.data_offset + t.offset + nbytes
        if end > h.file_size:
            raise r.fail(
                f"tensor {t.name!r} ends at byte {end} but the file has {h.file_size} bytes "
                "(truncated download?)"
            )


def is_gguf(path: str | os.PathLike[str]) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == MAGIC
    except OSError:
        return False
