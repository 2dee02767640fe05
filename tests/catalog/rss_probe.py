"""Run in a child process: load a GGUF with llama.cpp, fill the context with a prompt, and print
the resident memory before loading and the peak after (bytes, from /proc/self/status)."""

from __future__ import annotations

import json
import sys


def _status() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) * 1024
    return out


def main() -> None:
    import llama_cpp

    path, n_ctx = sys.argv[1], int(sys.argv[2])
    before = _status()["VmRSS"]  # Python and the llama.cpp library, before the model
    llm = llama_cpp.Llama(model_path=path, n_ctx=n_ctx, n_threads=2, n_batch=512, verbose=False)
    loaded = _status()["VmRSS"]
    text = b"The quick brown fox jumps over the lazy dog. " * (n_ctx // 4)
    tokens = llm.tokenize(text)[: n_ctx - 16]
    llm.eval(tokens)  # a prompt that fills the context: the buffers a long chat needs
    for _ in range(8):
        llm.eval([llm.sample()])
    print(
        json.dumps(
            {"before": before, "loaded": loaded, "peak": _status()["VmHWM"], "tokens": len(tokens)}
        )
    )


if __name__ == "__main__":
    main()
