"""Write small synthetic GGUF files (valid or deliberately broken) for tests."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any


def _str(s: str | bytes) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def _kv(key: str, value: Any) -> bytes:
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


def copy_with_metadata(src: Path, out: Path, changes: dict[str, Any]) -> Path:
    """A copy of a real GGUF file with metadata keys replaced or added (ints as uint32, the
    type llama.cpp reads hyperparameters as; None removes a key); tensors and data unchanged."""
    from gguf import GGUFReader

    def raw(field: Any) -> bytes:
        return b"".join(bytes(part.tobytes()) for part in field.parts)

    def kv(key: str, value: Any) -> bytes:
        if type(value) is int:
            return _str(key) + struct.pack("<II", 4, value)
        return _kv(key, value)

    reader = GGUFReader(src)
    kvs = [
        raw(f) for k, f in reader.fields.items() if not k.startswith("GGUF.") and k not in changes
    ]
    kvs += [kv(k, v) for k, v in changes.items() if v is not None]
    infos = [raw(t.field) for t in reader.tensors]
    head = b"GGUF" + struct.pack("<IQQ", 3, len(infos), len(kvs)) + b"".join(kvs + infos)
    head += b"\0" * (-len(head) % reader.alignment)
    with src.open("rb") as f, out.open("wb") as o:
        o.write(head)
        f.seek(reader.data_offset)
        while block := f.read(1 << 24):
            o.write(block)
    return out
