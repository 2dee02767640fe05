"""Read task data in lm-evaluation-harness's shapes from local files (nothing downloads).

Two ways in:
- a JSON / JSONL file of documents with the usual fields: text in `query` (used as is, the
  harness's preprocessed form) or `question` / `ctx` (made into 'Question: ...\\nAnswer:');
  options in `choices` (a list, or ARC's {"text": [...], "label": [...]}) or `endings`;
  the answer in `gold` / `label` / `answer` / `answerKey` (an index, a label or the text).
- a task YAML in the harness's format: `dataset_path: json` with `dataset_kwargs.data_files`
  (paths relative to the YAML), `output_type: multiple_choice` or `generate_until` (scored
  by `exact_match` with its ignore_case / ignore_punctuation / regexes_to_ignore options and
  a first `regex` filter, as in GSM8K's task), `generation_kwargs`, `doc_to_text`,
  `doc_to_choice`, `doc_to_target` (a field name or a Jinja template, rendered in a sandbox),
  `target_delimiter`, `fewshot_delimiter`, `description`, `num_fewshot` with
  `fewshot_split` (we take the first N documents other than the one asked; the harness
  samples them with its seed),
  `include:` (lmeval_config.read_task_file). Any other field that would change the task is
  refused, named (lmeval_config.TaskConfig.check_fields), never dropped.
Contexts and continuations are built as the harness builds them, so scores compare.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openscout import datafile
from openscout.errors import DataFileError, WorkerError, WorkerLimitError
from openscout.evals.items import LETTERS, Item
from openscout.evals.lmeval_config import MAX_FEWSHOT, MAX_GEN_TOKENS, TaskConfig, read_task_file
from openscout.evals.loading import LoadedSuite
from openscout.evals.suite import MAX_FILLED_CHARS, MAX_SUITE_FILLED_CHARS
from openscout.worker import Limits, Worker


def read_docs(path: Path) -> list[dict[str, Any]]:
    """The documents of a JSON or JSON lines file, read by datafile.py (size, UTF-8, nesting
    depth and lone surrogates checked there, each fault named by file and line)."""
    text = datafile.read_text(path)
    found: list[tuple[int | None, Any]]  # (line in a JSON lines file, document)
    if path.suffix == ".jsonl":
        found = list(datafile.jsonl_values(text, str(path)))
    else:
        data = datafile.parse_json(text, str(path))
        docs = (
            data if isinstance(data, list) else data.get("data") if isinstance(data, dict) else None
        )
        if not isinstance(docs, list):
            raise DataFileError(
                'expected a list of lm-eval documents (or {"data": [...]})',
                path=str(path),
                hint="a suite of your own is an object with `prompts` and `tests`"
                " (docs/evals.md), in YAML or JSON",
            )
        found = [(None, d) for d in docs]
    for i, (line, d) in enumerate(found):
        if not isinstance(d, dict):
            raise DataFileError(f"document {i + 1} is not an object", path=str(path), line=line)
    return [d for _, d in found]


def _default_fields(doc: dict[str, Any], path: Path, n: int) -> tuple[str, list[str], int]:
    def bad(msg: str) -> DataFileError:
        return DataFileError(
            msg, path=str(path), line=n if path.suffix == ".jsonl" else None, entry=f"document {n}"
        )

    if "query" in doc:
        context = str(doc["query"])
    elif "question" in doc or "ctx" in doc:
        context = f"Question: {doc.get('question', doc.get('ctx'))}\nAnswer:"
    else:
        raise bad("no text field (query, question or ctx)")
    raw = doc.get("choices", doc.get("endings", doc.get("options")))
    labels: list[str] = []
    if isinstance(raw, dict):
        labels = [str(x) for x in raw.get("label", [])]
        raw = raw.get("text")
    if not isinstance(raw, list) or len(raw) < 2:
        raise bad("no list of at least two choices (choices, endings or options)")
    choices = [str(c) for c in raw]
    gold = next((doc[k] for k in ("gold", "label", "answer", "answerKey") if k in doc), None)
    return context, choices, _gold_index(gold, choices, labels, bad)


def _gold_index(gold: Any, choices: list[str], labels: list[str], bad: Any) -> int:
    # an answer that is a choice's text is that choice, also when it reads as a number: "3"
    # among the choices 2, 3, 4, 5 was read as the index of "5" (39th probe)
    if isinstance(gold, str) and gold in choices and gold not in labels:
        return choices.index(gold)
    if isinstance(gold, str) and not labels and _small_index(gold):
        gold = int(gold)
    if isinstance(gold, int) and not isinstance(gold, bool) and 0 <= gold < len(choices):
        return gold
    if isinstance(gold, str):
        if gold in labels:
            return labels.index(gold)
        if gold in choices:
            return choices.index(gold)
        letters = [chr(65 + i) for i in range(len(choices))]
        if gold.strip() in letters:
            return letters.index(gold.strip())
    shown = repr(gold) if len(repr(gold)) <= 60 else repr(gold)[:57] + "..."
    raise bad(f"the answer {shown} is not one of the choices")


def _small_index(text: str) -> bool:
    # int() of 5000 digits raises, and isdigit() is true of '²', which int() refuses
    return text.strip().isdecimal() and len(text.strip()) <= 9


def _items(
    docs_ctx: list[tuple[str, list[str], int, str | None]], delim: str, name: str
) -> list[Item]:
    """Choice items. Asked by generation (chat models, servers without log-probs), an item
    is asked its whole context, the task's description and few-shot examples included, as
    log-likelihood asks it: its bare text left both out (40th probe). A context is already
    framed ('Question: ...'), so it is the completion prompt as it stands; only a bare
    `question` field is framed by build_request."""
    return [
        Item(
            id=f"{name}-{i:05d}",
            kind="choice",
            prompt=ctx if question is None else question,
            check="choice",
            target=gold,
            choices=tuple(choices),
            context=ctx,
            check_data={"target_delimiter": delim},
            completion_prompt=ctx if question is None else None,
            completion_stop=("\n",),
            max_tokens=24,
        )
        for i, (ctx, choices, gold, question) in enumerate(docs_ctx)
    ]


def _bounded(items: list[Item], path: Path) -> list[Item]:
    """The same bounds as a user suite's texts: a 15.7 MB document took 66 s and 1.3 GB
    in the engine's tokenizer before its item failed (eleventh probe)."""
    total = 0
    for n, item in enumerate(items, 1):
        if len(item.choices) > len(LETTERS):  # 11 options were an IndexError (probe 12)
            raise DataFileError(
                f"{len(item.choices)} options; openscout labels them A to Z, 26 at most",
                path=str(path),
                entry=f"document {n}",
            )
        size = len(item.context or item.prompt) + sum(len(c) for c in item.choices)
        total += size
        if size > MAX_FILLED_CHARS or total > MAX_SUITE_FILLED_CHARS:
            most = MAX_FILLED_CHARS if size > MAX_FILLED_CHARS else MAX_SUITE_FILLED_CHARS
            raise DataFileError(
                f"{'this document' if size > MAX_FILLED_CHARS else 'the documents so far'} hold"
                f" more than {most:,} characters of text",
                path=str(path),
                entry=f"document {n}",
                hint="shorten the texts or split the file",
            )
    return items


def load_docs_file(path: Path) -> LoadedSuite:
    docs = read_docs(path)
    rows = []
    for n, d in enumerate(docs, 1):
        ctx, choices, gold = _default_fields(d, path, n)
        bare = str(d["question"]) if "question" in d and "query" not in d else None
        rows.append((ctx, choices, gold, bare))
    return LoadedSuite(
        path.stem,
        "1",
        f"lm-eval-format documents from {path.name}",
        str(path.resolve()),
        _bounded(_items(rows, " ", path.stem), path),
    )


class _Task:
    """The subset of a harness task config that multiple choice needs."""

    def __init__(self, cfg: dict[str, Any], path: Path) -> None:
        from jinja2 import StrictUndefined
        from jinja2.sandbox import SandboxedEnvironment

        self.cfg, self.path = cfg, path
        # strict, as the harness renders: a misspelt field (or an attribute the sandbox
        # refuses) was empty text, and every item ran on an empty question (37th probe)
        self.env = SandboxedEnvironment(keep_trailing_newline=True, undefined=StrictUndefined)

    def _render(self, source: Any, doc: dict[str, Any], what: str) -> Any:
        if isinstance(source, str) and source in doc:
            return doc[source]
        if isinstance(source, str):
            try:
                return self.env.from_string(source).render(**doc)
            except MemoryError as e:  # the worker's limit: say so, not "MemoryError: "
                raise DataFileError(
                    f"{what}: the template ran past its memory limit"
                    f" ({TASK_LIMITS.memory_bytes // 2**20} MiB)",
                    path=str(self.path),
                    field=what,
                ) from e
            except Exception as e:  # jinja raises many kinds; all mean a bad template
                raise DataFileError(
                    f"{what}: template failed: {e.__class__.__name__}: {e}",
                    path=str(self.path),
                    field=what,
                ) from e
        if isinstance(source, list | int):
            return source
        raise DataFileError(
            f"{what} must be a field name, a template or a list", path=str(self.path), field=what
        )

    def text(self, doc: dict[str, Any]) -> str:
        return str(self._render(self.cfg.get("doc_to_text", "{{question}}"), doc, "doc_to_text"))

    def choices(self, doc: dict[str, Any]) -> list[str]:
        got = self._render(self.cfg.get("doc_to_choice", "choices"), doc, "doc_to_choice")
        if isinstance(got, str):
            try:
                got = ast.literal_eval(got)
            except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
                got = None
        if isinstance(got, dict) and "text" in got:
            got = got["text"]
        if not isinstance(got, list):
            raise DataFileError(
                "doc_to_choice did not give a list", path=str(self.path), field="doc_to_choice"
            )
        return [str(c) for c in got]

    def target_text(self, doc: dict[str, Any]) -> str:
        return str(self._render(self.cfg.get("doc_to_target", "answer"), doc, "doc_to_target"))

    def target(self, doc: dict[str, Any], choices: list[str], n: int) -> int:
        source = self.cfg.get("doc_to_target", "answer")
        got = self._render(source, doc, "doc_to_target")
        # as the harness: a template's digits are an index, a field's text is looked up
        templated = not (isinstance(source, str) and source in doc)
        if templated and isinstance(got, str) and _small_index(got):
            got = int(got.strip())

        def bad(msg: str) -> DataFileError:
            return DataFileError(
                msg, path=str(self.path), entry=f"document {n}", field="doc_to_target"
            )

        return _gold_index(got, choices, [], bad)


def _data_files(c: TaskConfig) -> dict[str, Path]:
    files = c.mapping("dataset_kwargs").get("data_files")
    if isinstance(files, str | list):
        files = {"train": files}
    if not isinstance(files, dict) or not files or c.get("dataset_path") not in ("json", "jsonl"):
        raise c.bad(
            "dataset_path",
            "must be json, with `dataset_kwargs.data_files` naming local files"
            " (only local data is read)",
        )
    out = {}
    for split, f in files.items():
        f = f[0] if isinstance(f, list) and f else f
        if not isinstance(split, str) or not isinstance(f, str):
            raise c.bad("data_files", "must name each split's file as text")
        out[split] = (c.path.parent / f).resolve()
    return out


def _generation_check(c: TaskConfig) -> dict[str, Any]:
    """How a generate_until answer is scored: the harness's exact_match (+ a regex filter)."""
    metrics = c.mappings("metric_list") or [{"metric": "exact_match"}]
    em = next((m for m in metrics if m.get("metric") == "exact_match"), None)
    if em is None:
        raise c.bad("metric_list", "must hold exact_match: generate_until tasks are scored so")
    data: dict[str, Any] = {
        "ignore_case": bool(em.get("ignore_case", False)),
        "ignore_punctuation": bool(em.get("ignore_punctuation", False)),
        "regexes_to_ignore": c.pattern_list("regexes_to_ignore", within=em),
    }
    for flt in c.mappings("filter_list")[:1]:  # the first pipeline is the one reported first
        for fn in c.mappings("filter", within=flt):
            if fn.get("function") == "regex":
                data["regex"] = c.pattern("regex_pattern", r"#### (\-?[0-9\.\,]+)", within=fn)
                data["group_select"] = c.integer("group_select", 0, -1000, 1000, within=fn)
    return data


def load_task_yaml(path: Path) -> LoadedSuite:
    c = TaskConfig(read_task_file(path), path)
    c.check_fields()
    kind = c.text("output_type", "multiple_choice")
    if kind not in ("multiple_choice", "generate_until"):
        raise c.bad("output_type", "must be multiple_choice or generate_until (what is supported)")
    task = _Task(c.cfg, path)
    files = _data_files(c)
    split = c.text("test_split", "") or c.text("validation_split", "") or next(iter(files))
    if split not in files:
        raise c.bad("data_files", f"has no file for the split {split!r}")
    docs = read_docs(files[split])
    delim = c.text("target_delimiter", " ")
    prefix_of = _few_shot(task, c, files, kind, delim, path)
    name = c.text("task", path.stem)
    version = c.text("version", "1", within=c.mapping("metadata"))
    if kind == "generate_until":
        items = _generate_items(task, c, docs, prefix_of, name)
    else:
        rows = []
        for n, d in enumerate(docs, 1):
            choices = task.choices(d)
            rows.append((prefix_of(d) + task.text(d), choices, task.target(d, choices, n), None))
        items = _items(rows, delim, name)
    return LoadedSuite(
        name,
        version,
        f"lm-eval task {name} from {path.name}",
        str(path.resolve()),
        _bounded(items, path),
    )


def _few_shot(
    task: _Task, c: TaskConfig, files: dict[str, Path], kind: str, delim: str, path: Path
) -> Callable[[dict[str, Any]], str]:
    """What comes before a document's own text: the description and the few-shot examples.
    A document is never its own example (the harness drops it too): with the scored split
    as the few-shot split, the first N items were asked with their own answer right above
    them (37th probe). So one more than asked is read, and each document takes the first N
    that are not itself."""
    prefix = c.text("description", "")
    k = c.integer("num_fewshot", 0, 0, MAX_FEWSHOT)
    if not k:
        return lambda doc: prefix
    fs_split = c.text("fewshot_split", "train")
    if fs_split not in files:
        raise DataFileError(f"num_fewshot needs data for the split {fs_split!r}", path=str(path))
    fs_delim = c.text("fewshot_delimiter", "\n\n")
    pool = read_docs(files[fs_split])[: k + 1]
    examples = [
        task.text(d) + delim + _answer_text(task, d, kind, n) for n, d in enumerate(pool, 1)
    ]

    def prefix_of(doc: dict[str, Any]) -> str:
        shots = [e for d, e in zip(pool, examples, strict=True) if d != doc][:k]
        return prefix + fs_delim.join(shots) + fs_delim

    return prefix_of


def _answer_text(task: _Task, doc: dict[str, Any], kind: str, n: int) -> str:
    if kind == "generate_until":
        return task.target_text(doc)
    ch = task.choices(doc)
    return ch[task.target(doc, ch, n)]


def _generate_items(
    task: _Task,
    c: TaskConfig,
    docs: list[dict[str, Any]],
    prefix_of: Callable[[dict[str, Any]], str],
    name: str,
) -> list[Item]:
    gen = c.mapping("generation_kwargs")
    until = tuple(c.texts("until", ["\n\n"], within=gen))
    max_tokens = c.integer("max_gen_toks", 256, 1, MAX_GEN_TOKENS, within=gen)
    check_data = _generation_check(c)
    return [
        Item(
            id=f"{name}-{i:05d}",
            kind="generate",
            prompt=prefix_of(d) + task.text(d),
            check="exact",
            target=task.target_text(d),
            completion_prompt=prefix_of(d) + task.text(d),
            completion_stop=until,
            stop=until,
            max_tokens=max_tokens,
            check_data=check_data,
        )
        for i, d in enumerate(docs)
    ]


# A task file's templates are the file author's code: Jinja's sandbox stops attribute tricks
# but not `'x' * 10**9` or nested range loops, which ran for minutes in our process
# (independent probe, issue 17). Task files are read and rendered in a limited child.
TASK_LIMITS = Limits(memory_bytes=1024 * 2**20, cpu_seconds=20, timeout=30.0)


def load_lmeval(path: Path) -> LoadedSuite:
    """An lm-eval task or documents file, read and rendered in a limited worker process."""
    worker = Worker(f"{__name__}:load_here", TASK_LIMITS)
    try:
        got = worker.call(path=str(path.resolve()))
    except WorkerError as e:
        if e.parts:  # a DataFileError in the child: the same error, file and line, here
            p = e.parts
            raise DataFileError(
                str(p["detail"]),
                path=p["path"],  # type: ignore[arg-type]
                line=p["line"],  # type: ignore[arg-type]
                entry=p["entry"],  # type: ignore[arg-type]
                field=p["field"],  # type: ignore[arg-type]
                hint=e.hint,
            ) from e
        if e.kind == "MemoryError":  # was "fs.yaml: MemoryError: " and nothing more
            raise DataFileError(
                f"{path}: reading the task ran past its memory limit"
                f" ({TASK_LIMITS.memory_bytes // 2**20} MiB)",
                hint="fewer or shorter documents, or a smaller num_fewshot",
            ) from e
        raise DataFileError(f"{path}: {e.kind}: {e.message}", hint=e.hint) from e
    except WorkerLimitError as e:
        raise DataFileError(
            f"{path}: reading the task was stopped: {e}",
            hint="its templates or data ask for too much time or memory",
        ) from e
    finally:
        worker.close()
    return LoadedSuite(
        got["name"],
        got["version"],
        got["description"],
        got["source"],
        [Item.from_dict(i) for i in got["items"]],
    )


def load_here(path: str) -> dict[str, Any]:
    """In the worker: load and render the task, return it as JSON-able data."""
    p = Path(path)
    suite = load_task_yaml(p) if p.suffix in (".yaml", ".yml") else load_docs_file(p)
    return {
        "name": suite.name,
        "version": suite.version,
        "description": suite.description,
        "source": suite.source,
        "items": [i.to_dict() for i in suite.items],
    }
