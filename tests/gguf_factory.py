"""Write small synthetic GGUF files (valid or deliberately broken) for tests."""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openscout.engines.gguf import _SCALAR


def _str(s: str | bytes) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def _kv(key: str, value: Any) -> bytes:
    if isinstance(value, bytes):  # an array of uint8 (a T5 vocabulary's character map)
        return _str(key) + struct.pack("<IIQ", 9, 0, len(value)) + value
    if isinstance(value, bool):
        return _str(key) + struct.pack("<I?", 7, value)
    if isinstance(value, int):
        return _str(key) + struct.pack("<IQ", 10, value)
    if isinstance(value, float):
        return _str(key) + struct.pack("<If", 6, value)
    if isinstance(value, str):
        return _str(key) + struct.pack("<I", 8) + _str(value)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return _str(key) + struct.pack("<IIQ", 9, 8, len(value)) + b"".join(map(_str, value))
    if isinstance(value, list):
        return (
            _str(key)
            + struct.pack("<IIQ", 9, 4, len(value))
            + b"".join(struct.pack("<I", v) for v in value)
        )
    raise TypeError(value)


def gguf_bytes(
    metadata: dict[str, Any] | None = None,
    tensors: list[tuple[str, tuple[int, ...], int]] | None = None,
    version: int = 3,
    data: bool = True,
) -> bytes:
    """tensors: (name, shape, ggml_type). F32 tensors get zero-filled data when data=True."""
    metadata = metadata if metadata is not None else {"general.architecture": "llama"}
    tensors = tensors if tensors is not None else [("w", (4, 4), 0)]
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(metadata))
    out += b"".join(_kv(k, v) for k, v in metadata.items())
    offset = 0
    sizes = []
    for name, shape, ggml_type in tensors:
        n = 1
        for d in shape:
            n *= d
        size = n * 4 if ggml_type == 0 else n * 2
        out += (
            _str(name)
            + struct.pack("<I", len(shape))
            + b"".join(struct.pack("<Q", d) for d in shape)
        )
        out += struct.pack("<IQ", ggml_type, offset)
        sizes.append(size)
        offset += (size + 31) // 32 * 32
    if data:
        out += b"\0" * ((-len(out)) % 32)
        out += b"\0" * offset
    return out


def write_gguf(path: Path, **kwargs: Any) -> Path:
    path.write_bytes(gguf_bytes(**kwargs))
    return path


_SIZES = {vtype: struct.calcsize(fmt) for vtype, fmt in _SCALAR.items()}  # fixed-size values


@dataclass(frozen=True)
class RawGGUF:
    """A real GGUF file cut into its parts, as bytes: each metadata entry (key included),
    each tensor description, and where the tensor data starts."""

    kvs: dict[str, bytes]
    tensor_infos: list[bytes]
    alignment: int
    data_offset: int

    def strings(self, key: str) -> list[str]:
        """A string array's values (the vocabulary: tokenizer.ggml.tokens)."""
        raw = self.kvs[key]
        at = 8 + struct.unpack_from("<Q", raw)[0] + 4 + 4  # key, value type, item type
        (count,) = struct.unpack_from("<Q", raw, at)
        at += 8
        out = []
        for _ in range(count):
            (n,) = struct.unpack_from("<Q", raw, at)
            out.append(raw[at + 8 : at + 8 + n].decode("utf-8"))
            at += 8 + n
        return out


@functools.lru_cache(maxsize=2)
def raw_gguf(src: Path) -> RawGGUF:
    """Parsed once per file (the embedded models never change): gguf-py's reader took half a
    minute over Gemma's 262k-token vocabulary, a walk over the lengths takes a second."""
    data = src.read_bytes()
    _, n_tensors, n_kv = struct.unpack_from("<IQQ", data, 4)
    at = 24

    def skip_value(vtype: int, at: int) -> int:
        if vtype == 8:
            return at + 8 + struct.unpack_from("<Q", data, at)[0]
        if vtype == 9:
            itype, count = struct.unpack_from("<IQ", data, at)
            at += 12
            if itype in _SIZES:
                return at + count * _SIZES[itype]
            for _ in range(count):
                at = skip_value(itype, at)
            return at
        return at + _SIZES[vtype]

    kvs = {}
    for _ in range(n_kv):
        start = at
        (n,) = struct.unpack_from("<Q", data, at)
        key = data[at + 8 : at + 8 + n].decode("utf-8")
        at += 8 + n
        (vtype,) = struct.unpack_from("<I", data, at)
        at = skip_value(vtype, at + 4)
        kvs[key] = data[start:at]
    infos = []
    for _ in range(n_tensors):
        start = at
        (n,) = struct.unpack_from("<Q", data, at)
        at += 8 + n
        (dims,) = struct.unpack_from("<I", data, at)
        at += 4 + 8 * dims + 4 + 8
        infos.append(data[start:at])
    alignment = 32
    if "general.alignment" in kvs:
        alignment = struct.unpack_from(
            "<I", kvs["general.alignment"], len(kvs["general.alignment"]) - 4
        )[0]
    return RawGGUF(kvs, infos, alignment, at + (-at % alignment))


def copy_with_metadata(src: Path, out: Path, changes: dict[str, Any]) -> Path:
    """A copy of a real GGUF file with metadata keys replaced or added (ints as uint32, the
    type llama.cpp reads hyperparameters as; None removes a key); tensors and data unchanged."""

    def kv(key: str, value: Any) -> bytes:
        if type(value) is int:
            return _str(key) + struct.pack("<II", 4, value)
        return _kv(key, value)

    raw = raw_gguf(src)
    kvs = [b for k, b in raw.kvs.items() if k not in changes]
    kvs += [kv(k, v) for k, v in changes.items() if v is not None]
    head = b"GGUF" + struct.pack("<IQQ", 3, len(raw.tensor_infos), len(kvs))
    head += b"".join(kvs + raw.tensor_infos)
    head += b"\0" * (-len(head) % raw.alignment)
    with src.open("rb") as f, out.open("wb") as o:
        o.write(head)
        f.seek(raw.data_offset)
        while block := f.read(1 << 24):
            o.write(block)
    return out
