"""Read a GGUF file's header without loading its weights, and refuse hostile ones.

Everything is bounded before it is allocated: counts and string lengths are checked against
fixed limits and against the bytes left in the file, so a truncated, corrupted or hostile
header fails here with a clear ModelFileError instead of reaching llama.cpp.
Format facts (value types, ggml block sizes, file-type ids) follow ggml's GGUF spec.
"""

from __future__ import annotations

import os
import struct
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from openscout.errors import ConfigError, ModelFileError

MAGIC = b"GGUF"
MAX_TENSORS = 100_000
# metadata entries: real files hold 30 to a few hundred; llama-cpp-python reads them by index
# and llama.cpp walks its map to each index, so 99,000 keys held the load check for minutes
# (twenty-first probe); 4,096 read in a fraction of a second
MAX_KV = 4_096
MAX_STRING = 16 * 2**20  # chat templates are kilobytes; 16 MiB is absurd already
MAX_ARRAY = 8_000_000  # vocabularies reach ~260k entries
# Values parsed one by one in the whole header: real files parse a few hundred thousand
# (Llama 3: 128k tokens + 280k merges); without a total, nested arrays within every per-array
# limit took minutes and a gigabyte (independent probe, issue 17).
MAX_VALUES = 2_000_000
# Memory of the strings a header keeps, once decoded (Python keeps 4 bytes a character in a
# string holding one emoji): vocabularies and merges hold a few MB and are skipped, not kept;
# 150 strings of 16 MiB each (a sparse file of 600 KB on disk) took 2.5 GB to read (second
# probe), and 15 of ASCII and one emoji 1 GB within the byte count (sixteenth probe).
MAX_STRING_BYTES = 64 * 2**20
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
_INTS = {0, 1, 2, 3, 4, 5, 10, 11}
_ITEM_NAMES = {**dict.fromkeys(_INTS, "integer"), 6: "float", 12: "float", 7: "bool", 8: "string"}

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


# Every metadata key openscout reads: (kind, the largest integer allowed). "{arch}" stands for
# the file's general.architecture. A hostile file put a string in context_length or key_length
# and the model page answered 500 (probe F6); llama.cpp refuses such files. So each field is
# read only through GGUFHeader.typed, which refuses a value of another type, and read_header
# reads them all once, so a bad file is refused when it is added or loaded, not in a page.
# The bounds are far above real models (llama.cpp keeps these as uint32) but keep a fit sane.
MAX_COUNT = 2**16  # layers, heads, experts
MAX_WIDTH = 2**20  # embedding and head sizes
U32 = 2**32 - 1
FIELDS: dict[str, tuple[str, int]] = {
    "general.architecture": ("string", 0),
    "general.name": ("string", 0),
    "general.license": ("string", 0),
    "general.file_type": ("uint", U32),
    "general.alignment": ("uint", 2**16),
    "tokenizer.chat_template": ("string", 0),
    "tokenizer.ggml.tokens": ("strings", 0),
    "tokenizer.ggml.merges": ("strings", 0),
    "{arch}.context_length": ("uint", U32),
    "{arch}.block_count": ("uint", MAX_COUNT),
    "{arch}.embedding_length": ("uint", MAX_WIDTH),
    "{arch}.attention.head_count": ("uints", MAX_COUNT),  # one, or one per layer
    "{arch}.attention.head_count_kv": ("uints", MAX_COUNT),
    "{arch}.attention.key_length": ("uint", MAX_WIDTH),
    "{arch}.attention.value_length": ("uint", MAX_WIDTH),
    "{arch}.expert_count": ("uint", MAX_COUNT),
    "{arch}.expert_used_count": ("uint", MAX_COUNT),
}
_EXPECTED = {
    "string": "a string",
    "uint": "an unsigned integer",
    "uints": "an unsigned integer or an array of them",
    "strings": "an array of strings",
}


@dataclass
class GGUFHeader:
    path: str
    version: int
    file_size: int
    metadata: dict[str, Any]
    tensors: list[TensorInfo] = field(default_factory=list)
    data_offset: int = 0

    def get(self, key: str, default: Any = None) -> Any:
        """The raw value, of whatever type the file gave it: for the fields openscout uses,
        read `typed` instead."""
        return self.metadata.get(key, default)

    def typed(self, name: str) -> Any:
        """The value of a FIELDS key, checked: None when absent (or when its architecture is
        unknown), ModelFileError naming the key and both types when it has the wrong type."""
        kind, limit = FIELDS[name]
        if "{arch}" in name:
            if self.architecture is None:
                return None
            name = name.replace("{arch}", self.architecture)
        v = self.metadata.get(name)
        if v is None:
            return None
        if not _has_kind(v, kind):
            raise self._wrong(name, _describe(v), _EXPECTED[kind])
        if kind in ("uint", "uints") and not isinstance(v, _Summary):
            for n in v if isinstance(v, list) else [v]:
                if not 0 <= n <= limit:  # 2**64-1 or -64 would make an absurd fit
                    raise self._wrong(name, f"{n}, out of range", f"an integer from 0 to {limit}")
        return v

    def _wrong(self, key: str, found: str, expected: str) -> ModelFileError:
        return ModelFileError(
            f"{self.path}: GGUF metadata key {_short(key)} holds {found}; expected {expected}",
            hint="the file's header is malformed; download or convert it again",
        )

    @property
    def architecture(self) -> str | None:
        return self.typed("general.architecture")

    @property
    def parameter_count(self) -> int:
        return sum(t.n_elements for t in self.tensors)

    @property
    def context_length(self) -> int | None:
        return self.typed("{arch}.context_length")

    def check_context(self, model_id: str, n_ctx: int) -> None:
        """A ConfigError for a context beyond the one the model was trained on: llama.cpp
        allocates the whole KV cache at load, and SmolLM2 (8,192) registered with 262,144
        took 6.1 GB to answer "hi" (38th probe)."""
        trained = self.context_length
        if trained and n_ctx > trained:
            raise ConfigError(
                f"{model_id}: a context of {n_ctx:,} tokens is beyond the {trained:,} the"
                " model was trained on",
                hint=f"register it with --n-ctx {trained} or less",
            )

    @property
    def quantization(self) -> str | None:
        ft = self.typed("general.file_type")
        return FILE_TYPES.get(ft, f"type {ft}") if ft is not None else None

    @property
    def chat_template(self) -> str | None:
        return self.typed("tokenizer.chat_template")

    @property
    def license(self) -> str | None:
        return self.typed("general.license")

    @property
    def n_layers(self) -> int | None:
        return self.typed("{arch}.block_count")

    @property
    def n_heads(self) -> int | None:
        return _first_int(self.typed("{arch}.attention.head_count"))

    @property
    def n_kv_heads(self) -> int | None:
        return _first_int(self.typed("{arch}.attention.head_count_kv")) or self.n_heads

    @property
    def embedding_length(self) -> int | None:
        return self.typed("{arch}.embedding_length")

    @property
    def head_dim(self) -> int | None:
        """K head size: explicit key_length when present, else embedding / heads."""
        explicit = self.typed("{arch}.attention.key_length")
        if explicit:
            return explicit
        if self.embedding_length and self.n_heads:
            return self.embedding_length // self.n_heads
        return None

    @property
    def value_head_dim(self) -> int | None:
        return self.typed("{arch}.attention.value_length") or self.head_dim

    @property
    def expert_count(self) -> int | None:
        return self.typed("{arch}.expert_count")

    @property
    def expert_used_count(self) -> int | None:
        return self.typed("{arch}.expert_used_count")

    @property
    def vocab_size(self) -> int | None:
        return _length(self.typed("tokenizer.ggml.tokens"))

    @property
    def merge_count(self) -> int | None:
        return _length(self.typed("tokenizer.ggml.merges"))

    def summary(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "gguf_version": self.version,
            "file_size": self.file_size,
            "architecture": self.architecture,
            "name": self.typed("general.name"),
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


def _is_int(v: Any) -> bool:
    # bool is an int to Python, and a skipped array (_Summary) is one too: neither is a number
    return type(v) is int


def _has_kind(v: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(v, str)
    if kind == "uint":
        return _is_int(v)
    if isinstance(v, _Summary):  # a long array: only its length and item type were kept
        return v.itype == _STRING if kind == "strings" else v.itype in _INTS
    if kind == "uints":
        return _is_int(v) or (isinstance(v, list) and all(_is_int(x) for x in v))
    return isinstance(v, list) and all(isinstance(x, str) for x in v)  # "strings"


def _kind_name(v: Any) -> str:
    if isinstance(v, _Summary | list):
        return "array"
    return {bool: "bool", int: "integer", float: "float", str: "string"}.get(type(v), "value")


def _describe(v: Any) -> str:
    """What a value is, for an error message; its text cut short (it is the file's)."""
    if isinstance(v, _Summary):
        return f"an array of {int(v)} {_ITEM_NAMES.get(v.itype, 'item')}s"
    if isinstance(v, list):
        items = sorted({_kind_name(x) for x in v})
        return f"an array of {len(v)} {'/'.join(items) or 'item'}s"
    kind = _kind_name(v)
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} ({_short(v)})"


def _short(v: Any) -> str:
    r = repr(v)  # quotes strings and escapes control characters
    return r if len(r) <= 40 else r[:37] + "..."


def _first_int(v: Any) -> int | None:
    if isinstance(v, _Summary):  # per-layer values we skipped: unknown, not the layer count
        return None
    if isinstance(v, list):  # per-layer arrays in some architectures
        ints = [x for x in v if x > 0]
        return max(ints) if ints else None
    return v


def _length(v: Any) -> int | None:
    """Length of a GGUF array (long ones are kept only as their length)."""
    return len(v) if isinstance(v, list) else None if v is None else int(v)


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

    def _string_length(self) -> int:
        n = self.unpack("<Q")
        if n > MAX_STRING:
            raise self.fail(f"string of {n} bytes exceeds the {MAX_STRING} byte limit")
        return int(n)

    def _spend(self, n: int) -> None:
        self.string_bytes_left -= n
        if self.string_bytes_left < 0:
            raise self.fail(f"the metadata holds more than {MAX_STRING_BYTES} bytes of strings")

    def string(self) -> str:
        n = self._string_length()
        self._spend(n)  # before it is read
        text = self.read(n).decode("utf-8", errors="replace")
        self._spend(sys.getsizeof(text) - n)  # what it takes in memory beyond its bytes
        return text

    def skip_strings(self, count: int) -> None:
        """Pass over an array of strings that is not kept (a vocabulary): each checked, none
        read or decoded, so none counts against the memory budget."""
        for _ in range(count):
            n = self._string_length()
            if n > self.size - self.f.tell():
                raise self.fail("a string runs past the end of the file")
            self.f.seek(n, os.SEEK_CUR)

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
                    return _Summary(count, itype)
                self.values_left -= count
                if self.values_left < 0:
                    raise self.fail(f"the metadata holds more than {MAX_VALUES} values")
                return [self.unpack(_SCALAR[itype]) for _ in range(count)]
            if itype == _STRING and count > KEEP_ARRAY:
                self.values_left -= count
                if self.values_left < 0:
                    raise self.fail(f"the metadata holds more than {MAX_VALUES} values")
                self.skip_strings(count)
                return _Summary(count, itype)
            items = [self.value(itype, depth + 1) for _ in range(count)]
            return items if count <= KEEP_ARRAY else _Summary(count, itype)
        raise self.fail(f"unknown metadata value type {vtype}")


class _Summary(int):
    """Stands for a long array we skipped; its value is the length, `itype` its item type."""

    itype: int

    def __new__(cls, count: int, itype: int) -> _Summary:
        summary = super().__new__(cls, count)
        summary.itype = itype
        return summary

    def __repr__(self) -> str:
        return f"<array of {int(self)} items>"


# one header read at a time: three views of a hostile model's page at once each held the
# header's strings (a 500 and 1.3 GB kept, sixteenth probe); a real header reads in well
# under a second
_ONE_READ = threading.Lock()


def read_header(
    path: str | os.PathLike[str], via: str | os.PathLike[str] | None = None
) -> GGUFHeader:
    """Parse and validate the header of a GGUF file. Raises ModelFileError on any fault.
    `via` is where to read it (a pinned file's descriptor); messages name `path`."""
    with _ONE_READ:
        return _read_header(Path(path), Path(via) if via is not None else Path(path))


def _read_header(p: Path, source: Path) -> GGUFHeader:
    if not source.exists():
        raise ModelFileError(f"{p}: no such file", hint="check the path")
    if not source.is_file():
        raise ModelFileError(f"{p}: not a regular file")
    size = source.stat().st_size
    with source.open("rb") as f:
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
        end_of_header = f.tell()
    header = GGUFHeader(str(p), version, size, meta, tensors)
    for name in FIELDS:  # every field openscout reads, type-checked once, here
        header.typed(name)
    experts, used = header.expert_count, header.expert_used_count
    if experts and used and used > experts:
        raise r.fail(f"expert_used_count {used} exceeds expert_count {experts}")
    align = header.typed("general.alignment")
    if align == 0:
        raise r.fail("bad alignment 0")
    align = align or 32
    header.data_offset = (end_of_header + align - 1) // align * align
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
