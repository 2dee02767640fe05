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
