"""Chat templates come from model files, written by strangers: rendered only in Jinja's
immutable sandbox. A template that reaches for Python internals, files, the environment or the
caller's data fails with a ModelFileError (or renders nothing useful), and never reads a file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from openscout.engines.chat_template import render_chat
from openscout.errors import ModelFileError

MSGS = [{"role": "user", "content": "hi"}]


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-CONTENT")
    return path


def hostile(secret: Path) -> list[str]:
    s = str(secret)
    return [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.popen('cat " + s + "').read() }}",
        "{{ lipsum.__globals__['os'].popen('cat " + s + "').read() }}",
        "{{ joiner.__init__.__globals__.__builtins__.open('" + s + "').read() }}",
        "{{ namespace.__init__.__globals__ }}",
        "{{ self.__init__.__globals__.__builtins__.open('" + s + "').read() }}",
        "{{ self._TemplateReference__context.environment.loader }}",
        "{% include '" + s + "' %}",
        "{% import '" + s + "' as x %}{{ x }}",
        "{% extends '" + s + "' %}",
        "{{ strftime_now.__globals__['__builtins__']['open']('" + s + "').read() }}",
        "{{ raise_exception.__globals__ }}",
        "{{ messages.append({'role': 'system', 'content': 'x'}) }}",
        "{{ messages[0].update({'content': 'pwned'}) }}",
        "{{ '{0.__class__.__init__.__globals__}'.format(cycler) }}",
        "{{ ''.format_map }}{{ messages.__class__.__base__.__subclasses__() }}",
        "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
        "{{ range(10**9)|list }}",
        "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
        "{{ 1 / 0 }}",
        "{{ raise_exception('refused') }}",
    ]


def test_hostile_templates_fail_safely_and_read_no_file(secret: Path) -> None:
    for template in hostile(secret):
        messages = [dict(m) for m in MSGS]
        try:
            out = render_chat(template, messages)  # type: ignore[arg-type]
        except ModelFileError as e:
            assert "TOP-SECRET" not in str(e)
            continue
        # what did render shows nothing of the file, the process or Python's internals
        assert "TOP-SECRET" not in out, template
        assert "<class" not in out and "<module" not in out and "built-in" not in out, (
            template,
            out[:200],
        )
        assert messages == MSGS, template  # the caller's messages were not changed


def test_a_real_looking_template_still_renders() -> None:
    template = (
        "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}"
    )
    assert render_chat(template, MSGS) == "<|user|>hi\n<|assistant|>"  # type: ignore[arg-type]


def test_a_template_cannot_exhaust_memory() -> None:
    """In a child with 1 GiB of address space: the template must be refused as too large
    before the allocation, not by a MemoryError (without the limit, 10 GB really allocated)."""
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))\n"
        "from openscout.engines.chat_template import render_chat\n"
        "from openscout.errors import ModelFileError\n"
        "try:\n"
        "    render_chat(\"{{ 'x' * 10**10 }}\", [{'role': 'user', 'content': 'hi'}])\n"
        "except ModelFileError as e:\n"
        "    sys.exit(3 if 'MemoryError' in str(e) else 0)\n"
        "except MemoryError:\n"
        "    sys.exit(3)\n"
        "sys.exit(4)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()[-500:]


def test_a_templates_refusal_is_cut_to_a_few_hundred_characters() -> None:
    """A template raising a 7 MB message answered 7.6 MB per request (eighth probe, low)."""
    with pytest.raises(ModelFileError) as e:
        render_chat("{{ raise_exception('x' * 100000) }}", [dict(m) for m in MSGS])  # type: ignore[misc]
    assert "refused these messages" in str(e.value) and len(str(e.value)) < 600
