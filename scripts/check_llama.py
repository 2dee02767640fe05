"""Prove that the installed llama.cpp build runs on this CPU: a batched decode in a child
process (an illegal instruction kills the child, not us), with a clear message if not."""

import subprocess
import sys

CHILD = """
from openscout.engines.bundled import smollm2_path
import llama_cpp
llm = llama_cpp.Llama(str(smollm2_path()), n_ctx=256, verbose=False)
llm.eval(llm.tokenize(b"The capital of France is"))
"""

proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True)
if proc.returncode != 0:
    sys.stderr.write(
        f"llama.cpp check failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}\n"
        "The compiled llama-cpp-python does not run on this CPU. Remove the wheel cache "
        "(~/.cache/openscout/wheels) and run `make setup` again.\n"
    )
    sys.exit(1)
print("llama.cpp check: ok")
