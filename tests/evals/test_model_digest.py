"""The digest that keys a local model's cached answers: the first and last MiB and the size,
read from a regular file only."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from openscout.config import Settings
from openscout.errors import ModelFileError
from openscout.evals.store import file_digest
from openscout.store.db import connect


def test_the_digest_is_of_the_edges_and_the_size(settings: Settings, smollm2_path: Path) -> None:
    data = smollm2_path.read_bytes()
    want = hashlib.sha256(str(len(data)).encode())
    want.update(data[: 2**20])
    want.update(data[len(data) - 2**20 :])
    conn = connect(settings.db_path)
    try:
        assert file_digest(conn, smollm2_path) == want.hexdigest()
        assert file_digest(conn, smollm2_path) == want.hexdigest()  # remembered
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
