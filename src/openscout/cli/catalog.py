"""`openscout catalog search|show|tree` and `openscout fit`: find models, judge openness, fit."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table
from rich.tree import Tree

from openscout.cli.output import (
    console,
    esc,
    fmt,
    human_bytes,
    inert,
    plain,
    print_json,
    print_table,
)
from openscout.cli.params import finite
from openscout.cli.target import GPU, GPUS, MACHINE, MEMORY, target_from
from openscout.config import get_settings
from openscout.engines.spec import MAX_CONTEXT

ALL = 100_000  # "no limit": the search's own bound on one answer
_STATUS_STYLE = {"open": "green", "partial": "yellow", "closed": "red", "unknown": "dim"}


def _params(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v * 1000:.0f}M" if v < 1 else f"{v:g}B"


def _context(n: int | None) -> str:
    return "?" if not n else f"{n // 1024}k" if n >= 1024 and n % 1024 == 0 else str(n)


def _print_search(result: dict[str, Any]) -> None:
    ctx = result["query"].get("context", 4096)
    title = f"{result['count']} of {result['total']} models ({result['source']})"
    if result["query"].get("fits"):
        how = "fit, tight included" if result["query"].get("tight") else "fit comfortably"
        title += f"; {how} on {result.get('machine', 'this machine')}"
    table = Table(
        "id", "params", "memory", "ctx", "licence", "openness", "MOF", "released", "tasks",
        "domain", title=title,
    )  # fmt: skip
    for r in result["items"]:
        size = _params(r["params_b"]) + (
            f" ({_params(r['active_params_b'])} active)" if r["active_params_b"] else ""
        )
        need = human_bytes(r.get("memory_needed_bytes"))
        if r.get("fit") == "tight":
            need += " tight"
        table.add_row(
            plain(r["id"]),
            size,
            need,
            _context(r.get("context")),
            plain(r["license"]),
            r["label"],
            r["mof_class"],
            plain(r["released"] or "-"),
            plain(", ".join(r["tasks"])),
            plain(r["domain"]),
        )
    print_table(
        table, wrap=("tasks",), drop=("domain", "tasks", "released", "MOF", "openness", "licence")
    )
    console.print(
        f"[dim]memory: needed at {ctx} tokens of context ({result['query'].get('quant', 'Q4_K_M')}); "
        "ctx: the context the model was trained for[/]"
    )


def _tree_widget(node: dict[str, Any], parent: Tree | None = None) -> Tree:
    label = f"[bold]{esc(node['id'])}[/]"
    if node["relation"]:
        label += f" [cyan]({esc(node['relation'])}{', inferred' if node['inferred'] else ''})[/]"
    if node.get("domain") and node["domain"] != "general":
        label += f" [magenta]{esc(node['domain'])}[/]"
    if node.get("languages") and set(node["languages"]) - {"en"}:
        label += f" [dim]{esc(', '.join(node['languages'][:4]))}[/]"
    if not node["in_catalog"]:
        label += " [dim](not in the catalog)[/]"
    if node.get("cut"):
        label += " [dim](and deeper generations, not shown)[/]"
    branch = parent.add(label) if parent is not None else Tree(label)
    for child in node["children"]:
        _tree_widget(child, branch)
    return branch


def _print_tree(tree: dict[str, Any]) -> None:
    for a in reversed(tree["ancestors"]):
        how = "inferred from the card" if a["inferred"] else "declared"
        console.print(
            f"[dim]{esc(a['child'])} <- {esc(a['relation'])} of {esc(a['base'])} ({how})[/]"
        )
    console.print(_tree_widget(tree["tree"]))


def _label(text: str | None) -> str | None:
    """An openness label as the catalog writes it: 'open-source' and 'Open_Source' are
    'open source' (compare's --min-openness takes the same spellings)."""
    if text is None:
        return None
    return " ".join(text.strip().lower().replace("-", " ").replace("_", " ").split())


def _print_fit(fit: dict[str, Any]) -> None:
    if "error" in fit:
        console.print(f"[yellow]fit: {esc(fit['error'])}[/]")
        return
    colour = {"fits comfortably": "green", "tight": "yellow", "does not fit": "red"}.get(
        fit["verdict"], "dim"
    )
    shape = fit["shape"]
    buffers = (fit["compute_bytes"] or 0) + (fit["vocab_bytes"] or 0)
    console.print(
        f"fit on {esc(fit.get('machine_name') or 'this machine')} at {fit['context']} tokens, "
        f"{esc(shape['quant'])} ({esc(shape['source'])}): [{colour}]{fit['verdict']}[/]"
    )
    console.print(
        f"  needs {human_bytes(fit['required_bytes'])} of "
        f"{human_bytes(fit['available_bytes'])} {fit['target'].upper()} available "
        f"(weights {human_bytes(fit['weights_bytes'])}, "
        f"KV cache {human_bytes(fit['kv_cache_bytes'])}, buffers {human_bytes(buffers)})",
        highlight=False,
    )
    console.print(
        f"expected decode speed: {fmt(fit['decode_tokens_per_s'], 1, ' tok/s')} "
        f"(ceiling {fmt(fit['decode_ceiling_tokens_per_s'], 1, ' tok/s')} at "
        f"{fit['bandwidth_gbs']:.1f} GB/s)",
        highlight=False,
    )
    # each source on its own line: they carry parentheses of their own
    console.print(f"  memory bandwidth: {esc(fit['bandwidth_source'])}", highlight=False)
    if fit.get("efficiency_source"):
        console.print(f"  speed line: {esc(fit['efficiency_source'])}", highlight=False)
    if fit.get("measured_tokens_per_s"):
        console.print(
            f"measured here: {fmt(fit['measured_tokens_per_s'], 1, ' tok/s')} "
            f"(`openscout bench`, {inert(fit['measured_model'])}, short prompt)",
            highlight=False,
            markup=False,
        )
    for note in fit["notes"]:
        console.print(f"[dim]note: {esc(note)}[/]")


def _checked_cell(row: dict[str, Any] | None) -> str:
    """'checked' with the source and its quote, or 'unverified'."""
    if row is None or row["status"] != "checked":
        return "[yellow]unverified[/]"
    text = f'[green]checked[/] {esc(row["source"])}\n[dim]"{esc(row["quote"])}"[/]'
    for other in row.get("disagrees", []):
        text += f'\n[yellow]disagrees:[/] {esc(other["source"])} [dim]"{esc(other["quote"])}"[/]'
    if row.get("note"):
        text += f"\n[dim]{esc(row['note'])}[/]"
    return text


def _print_facts(f: dict[str, Any]) -> None:
    prov = f["provenance"]
    facts = Table("fact", "value", "provenance", show_header=True)
    for key in ("released", "params_b", "active_params_b", "license", "languages", "base_model"):
        if f.get(key) in (None, []):
            continue
        value = _params(f[key]) if key.endswith("params_b") else f[key]
        shown = ", ".join(value) if isinstance(value, list) else str(value)
        if key == "base_model":
            shown += f" ({f['relation']})"
        facts.add_row(key, plain(shown), _checked_cell(prov.get(key)))
    arch = f["arch"]
    for key, shown in (
        ("tasks", ", ".join(f["tasks"])),
        ("domain", f["domain"]),
        ("architecture", f"{arch['type']}, attention {arch['attention']}"),
    ):
        facts.add_row(key, plain(shown), "[dim]our classification[/]")
    for key, row in prov.items():
        if key.startswith("arch."):
            facts.add_row(plain(key), plain(row["value"]), _checked_cell(row))
    print_table(facts, wrap=("value", "provenance"))
    console.print(
        f"{len(f['checked'])} facts checked against a source, {len(f['unverified'])} unverified",
        highlight=False,
    )


def _print_show(data: dict[str, Any]) -> None:
    f, o = data["facts"], data["openness"]
    console.print(
        f"[bold]{esc(f['name'])}[/] ({esc(f['id'])}) by {esc(f['organisation'])}, "
        f"family {esc(f['family'])}"
    )
    _print_facts(f)
    console.print(
        f"openness: [bold]{o['label']}[/], MOF class {o['mof_class']}, OSI-approved licence: "
        f"{'yes' if o['osi_approved'] else 'no'}, commercial use: {o['commercial_use']}"
    )
    crit = Table("criterion", "status", "evidence", "source", "own status checked")
    for c in o["criteria"].values():
        status = c["status"] + (
            f" (own: {c['own_status']})" if c["status"] != c["own_status"] else ""
        )
        crit.add_row(
            c["label"],
            f"[{_STATUS_STYLE[c['status']]}]{status}[/]",
            plain("\n".join(c["evidence"])),
            plain("\n".join(c["sources"])),
            _checked_cell(f["provenance"].get(f"openness.{c['criterion']}")),
        )
    print_table(crit, wrap=("evidence", "own status checked"))
    for gap in o["inherited_gaps"]:
        console.print(f"[yellow]inherited gap:[/] {esc(gap)}")
    _print_licences(data["licences"])
    for reason in o["reasons"]:
        console.print(plain(reason, "dim"))
    _print_tree(data["tree"])
    if data["fit"]:
        _print_fit(data["fit"])
    _print_published(data)
    if data["hub"]:
        h = data["hub"]
        console.print(
            f"[dim]hub ({h['source']}): downloads {h.get('downloads')}, likes {h.get('likes')}, "
            f"last modified {esc(h.get('last_modified'))}[/]"
        )


def _print_licences(lic: dict[str, Any]) -> None:
    """catalog.views.licences, which the web model page shows too."""
    for terms in lic["binding"]:
        console.print(
            plain(f"{terms['heading']}: {terms['name']} ({terms['kind']}) {terms['url']}")
        )
        for r in terms["restrictions"]:
            console.print(plain(f"  - {r}"))
    osi = "yes" if lic["osi_approved"] else "no"
    console.print(
        f"all licences together: commercial use {lic['commercial_use']}, OSI-approved: {osi}"
    )


def _print_published(data: dict[str, Any]) -> None:
    """Published scores (with sources) and the user's own, in separate labelled tables."""
    published, yours = data.get("published") or [], data.get("yours") or []
    if published:
        t = Table(
            "benchmark",
            "value",
            "setting",
            "publisher",
            "date",
            "source and quote",
            title="Published (what leaderboards and cards report; not measured here)",
        )
        for p in published:
            cite = f'{esc(p["source"])}\n[dim]"{esc(p["quote"])}"[/]'
            if p.get("note"):
                cite += f"\n[dim]{esc(p['note'])}[/]"
            t.add_row(
                esc(p["benchmark"]),
                f"{p['value']:g}",
                esc(p["setting"]),
                esc(p["publisher"]),
                esc(p["date"]),
                cite,
            )
        print_table(t, wrap=("setting", "source and quote"), drop=("date", "publisher"))
    else:
        console.print("[dim]published: no score known (openscout catalog import-results)[/]")
    if yours:
        t = Table(
            "model", "suite", "score", "95% interval", "n", "when", title="Yours (measured here)"
        )
        for y in yours:
            ci = f"{y['ci_low']:.2f}-{y['ci_high']:.2f}" if y["ci_low"] is not None else "-"
            t.add_row(
                plain(y["model"]),
                plain(y["suite"]),
                f"{y['score']:.3f}",
                ci,
                str(y["n"]),
                y["when"],
            )
        print_table(t, drop=("when",))
    for note in data.get("published_notes") or []:
        console.print(f"[yellow]note:[/] {esc(note)}")


def _print_import(report: dict[str, Any]) -> None:
    console.print(
        f"imported {report['scores']} published scores for {report['models']} models from "
        f"{report['rows']} rows of {esc(report['source'])} into {esc(report['path'])}",
        highlight=False,
    )
    if report["kept_curated"]:
        console.print(
            f"[dim]{report['kept_curated']} of them are also curated facts: "
            "the curated (checked) values are shown[/]"
        )


def register(app: typer.Typer) -> None:
    catalog_app = typer.Typer(
        help="Discover open models: facts, openness, family trees and fit.", no_args_is_help=True
    )
    app.add_typer(catalog_app, name="catalog")

    @catalog_app.command("search")
    def search_cmd(
        text: str = typer.Argument(
            None, help="free text (id, name, family, organisation, domain, ...)"
        ),
        task: str = typer.Option(None, "--task", help="e.g. text-generation, chat, code"),
        license_: str = typer.Option(
            None, "--license", help="osi | commercial | open | a licence id"
        ),
        label: str = typer.Option(
            None,
            "--label",
            help="open source | open weights | restricted weights (open-source works too)",
        ),
        mof: str = typer.Option(
            None, "--mof-class", help="I, II or III: this Model Openness Framework class or better"
        ),
        min_params: str = typer.Option(None, "--min-params", help="e.g. 1B, 500M"),
        max_params: str = typer.Option(None, "--max-params", help="e.g. 8B"),
        family: str = typer.Option(None, "--family"),
        organisation: str = typer.Option(
            None, "--org", help="organisation name or Hugging Face org"
        ),
        language: str = typer.Option(None, "--language", help="ISO code, e.g. ja"),
        domain: str = typer.Option(None, "--domain", help="e.g. medical, math, code"),
        derived_from: str = typer.Option(
            None, "--derived-from", help="only derivatives of this model (any depth)"
        ),
        fits: bool = typer.Option(
            False,
            "--fits",
            help="only models that fit comfortably (a quarter of the memory left free) in this "
            "machine's free memory, or the target's",
        ),
        tight: bool = typer.Option(
            False, "--tight", help="with --fits: also models that only just fit"
        ),
        machine: str = MACHINE,
        memory: str = MEMORY,
        gpu: str = GPU,
        gpus: int = GPUS,
        context: int = typer.Option(
            None,
            "--context",
            min=1,
            max=MAX_CONTEXT,
            help="only models trained for at least this context; the context for --fits "
            "and the memory column (default 4096)",
        ),
        quant: str = typer.Option("Q4_K_M", "--quant", help="quantization for --fits"),
        sort: str = typer.Option(
            "relevance",
            "--sort",
            help="relevance | size | date | openness | name; prefix - to reverse",
        ),
        limit: int = typer.Option(
            None, "--limit", help="at most this many (default: 20 in the table, all with --json)"
        ),
        hub: bool = typer.Option(False, "--hub", help="also ask the Hugging Face Hub (cached)"),
        offline: bool = typer.Option(False, "--offline", help="with --hub: use only the cache"),
        json_out: bool = typer.Option(
            False, "--json", help="print the matching models as a JSON array (for jq and scripts)"
        ),
    ) -> None:
        """Search and filter the catalog."""
        from openscout.catalog.search import parse_params
        from openscout.catalog.views import search_view

        result = search_view(
            settings=get_settings(),
            hub_text=(text or "") if hub else None,
            offline=offline,
            text=text,
            task=task,
            license=license_,
            label=_label(label),
            mof_class=mof,
            min_params_b=parse_params(min_params),
            max_params_b=parse_params(max_params),
            family=family,
            organisation=organisation,
            language=language,
            domain=domain,
            derived_from=derived_from,
            fits=fits or tight,
            tight=tight,
            target=target_from(machine, memory, gpu, gpus),
            context=context or 4096,
            min_context=context,
            quant=quant,
            sort=sort,
            limit=limit or (ALL if json_out else 20),
        )
        if json_out:  # one array of models: `... --json | jq length` counts them
            print_json(result["items"])
        else:
            _print_search(result)

    @catalog_app.command("show")
    def show_cmd(
        hf_id: str = typer.Argument(..., help="Hugging Face id, e.g. mistralai/Mistral-7B-v0.1"),
        context: int = typer.Option(4096, "--context", min=1, max=MAX_CONTEXT),
        quant: str = typer.Option("Q4_K_M", "--quant"),
        hub: bool = typer.Option(
            False, "--hub", help="ask the Hugging Face Hub (cached), also for uncurated models"
        ),
        offline: bool = typer.Option(False, "--offline", help="with --hub: use only the cache"),
        machine: str = MACHINE,
        memory: str = MEMORY,
        gpu: str = GPU,
        gpus: int = GPUS,
        json_out: bool = typer.Option(False, "--json", help="print JSON"),
    ) -> None:
        """Facts with sources, openness with evidence, licence terms, family tree and fit."""
        from openscout.catalog.loader import load_user_catalog
        from openscout.catalog.views import show_model

        data = show_model(
            hf_id,
            settings=get_settings(),
            catalog=load_user_catalog(get_settings().home),
            context=context,
            quant=quant,
            hub=hub,
            offline=offline,
            target=target_from(machine, memory, gpu, gpus),
        )
        if json_out:
            print_json(data)
        else:
            _print_show(data)

    @catalog_app.command("import-results")
    def import_cmd(
        source: str = typer.Argument(
            ...,
            help="a CSV/JSON/Parquet export of the Open LLM Leaderboard's results, or a Hub "
            "dataset id (e.g. open-llm-leaderboard/contents)",
        ),
        offline: bool = typer.Option(False, "--offline", help="never download"),
        replace: bool = typer.Option(
            False, "--replace", help="drop earlier imports instead of adding to them"
        ),
        json_out: bool = typer.Option(False, "--json", help="print JSON"),
    ) -> None:
        """Import published leaderboard results into the data dir (kept for offline use)."""
        from openscout.catalog.leaderboard_import import import_results

        settings = get_settings().ensure()
        report = import_results(
            source,
            home=settings.home,
            cache_dir=settings.cache_dir / "hub",
            offline=offline,
            replace=replace,
        ).as_dict()
        if json_out:
            print_json(report)
        else:
            _print_import(report)

    @catalog_app.command("tree")
    def tree_cmd(
        hf_id: str = typer.Argument(..., help="Hugging Face id"),
        json_out: bool = typer.Option(False, "--json", help="print JSON"),
    ) -> None:
        """A model's ancestors and everything derived from it (fine-tunes, quantizations, ...)."""
        from openscout.catalog.lineage import family_tree
        from openscout.catalog.loader import load_user_catalog
        from openscout.catalog.views import require

        cat = load_user_catalog(get_settings().home)
        tree = family_tree(cat, require(cat, hf_id).id)
        if json_out:
            print_json(tree)
        else:
            _print_tree(tree)

    @app.command("fit")
    def fit_cmd(
        model: str = typer.Argument(..., help="catalog id, registered model id or GGUF path"),
        context: int = typer.Option(
            4096, "--context", min=1, max=MAX_CONTEXT, help="context length in tokens"
        ),
        quant: str = typer.Option(
            None, "--quant", help="quantization (default: the file's, or Q4_K_M)"
        ),
        bandwidth: float = typer.Option(
            None,
            "--bandwidth",
            min=0.01,
            max=100_000,  # 100 TB/s, twenty times any GPU's: 1e308 printed 309 digits
            callback=finite,
            help="memory bandwidth in GB/s for the speed estimate",
        ),
        machine: str = MACHINE,
        memory: str = MEMORY,
        gpu: str = GPU,
        gpus: int = GPUS,
        json_out: bool = typer.Option(False, "--json", help="print JSON"),
    ) -> None:
        """Will this model fit this machine (or a target: --machine, --memory, --gpu) at this
        context, and how fast will it decode?"""
        from openscout.catalog.fit import estimate_fit

        report = estimate_fit(
            model,
            context=context,
            quant=quant,
            settings=get_settings(),
            bandwidth_gbs=bandwidth,
            target=target_from(machine, memory, gpu, gpus),
        )
        if json_out:
            print_json(report.to_dict())
        else:
            console.print(
                f"[bold]{esc(model)}[/]"
                + (f" (catalog: {esc(report.catalog_id)})" if report.catalog_id else "")
            )
            _print_fit(report.to_dict())
