"""`openscout bench`'s core: measure registered models, add bandwidth use and cost, store results.

Each model is loaded afresh (not from the engine cache) so that its memory can be measured,
and closed afterwards. Cost uses, in this order: the model's own `price_per_hour` (an
endpoint or a machine registered with it), the price the caller gives for this machine, or
the documented default (perf.cost.DEFAULT_MACHINE). This machine's price is for models that
run on it (here, or a server on loopback): a server elsewhere without its own price has no
cost, rather than its GPU's time priced as this CPU's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openscout.config import Settings
from openscout.engines.base import Engine
from openscout.engines.kinds import kind_of
from openscout.engines.spec import ModelSpec
from openscout.perf.cost import UNPRICED, TokenCost, default_machine_price, token_cost
from openscout.perf.measure import BenchConfig, BenchResult, Footprint, Progress, measure
from openscout.store.db import connect

RESULT_VERSION = 1


@dataclass
class ModelBench:
    result: BenchResult
    cost: TokenCost | None  # None: a model elsewhere without its own price
    price_source: str
    cost_concurrency: int

    def as_dict(self) -> dict[str, Any]:
        d = self.result.as_dict()
        d["cost"] = None if self.cost is None else self.cost.as_dict()
        d["price_source"] = self.price_source
        d["cost_concurrency"] = self.cost_concurrency
        return d


def footprint_for(spec: ModelSpec, settings: Settings) -> Footprint:
    """Weight bytes (GGUF file size) and KV bytes per token from the header, for GGUF models."""
    path = kind_of(spec).local_file(spec, settings)
    if path is None:
        return Footprint()
    from openscout.engines.gguf import read_header
    from openscout.perf.bandwidth import kv_bytes_per_token

    header = read_header(path)
    return Footprint(
        header.file_size, kv_bytes_per_token(header.n_layers, header.n_kv_heads, header.head_dim)
    )


def fresh_loader(spec: ModelSpec, settings: Settings) -> Callable[[], Engine]:
    """A loader that bypasses the engine cache, so loading happens inside the measurement."""
    from openscout.engines.loader import load_engine

    return lambda: load_engine(spec, settings)


def price_for(spec: ModelSpec, price_per_hour: float | None) -> tuple[float | None, str]:
    """$ per hour of the model's time and where it came from; None for a model that runs
    elsewhere without its own price: this machine's price said nothing of that hardware,
    and a remote GPU priced as a $0.08/h CPU was the cheapest model of a comparison."""
    if spec.price_per_hour is not None:
        return float(spec.price_per_hour), f"model {spec.id}'s price_per_hour"
    if not kind_of(spec).on_this_machine(spec):
        return None, UNPRICED
    if price_per_hour is not None:
        return float(price_per_hour), "--price-per-hour"
    p = default_machine_price()
    return p.price_per_hour, f"default: {p.name} ${p.price_per_hour}/h (see docs/metrics.md)"


def bench_one(
    spec: ModelSpec,
    settings: Settings,
    config: BenchConfig,
    *,
    price_per_hour: float | None = None,
    cost_concurrency: int = 1,
    bandwidth_gbs: float | None = None,
    progress: Progress | None = None,
) -> ModelBench:
    if config.context_needed() > spec.n_ctx:  # room for the deepest run
        spec = spec.model_copy(update={"n_ctx": config.context_needed()})
    result = measure(
        fresh_loader(spec, settings),
        spec.id,
        spec.prompt_format,
        config,
        footprint=footprint_for(spec, settings),
        in_process=kind_of(spec).runs_here,
        bandwidth_gbs=bandwidth_gbs,
        progress=progress,
    )
    price, source = price_for(spec, price_per_hour)
    # the most clients up to N that the model was measured at: one that takes only 2 at once
    # delivers about its 2-client rate to 4 clients; priced at 1 client instead, it was 4
    # times dearer than an identical server beside it (42nd probe)
    used = max(
        (p.concurrency for p in result.sweep if p.concurrency <= cost_concurrency), default=1
    )
    inp, out = result.throughput_at(used)
    cost = None if price is None else token_cost(price, inp, out)
    bench = ModelBench(result, cost, source, used)
    store_result(settings, spec, bench)
    return bench


def bench_models(
    settings: Settings,
    model_ids: list[str] | None,
    config: BenchConfig | None = None,
    *,
    price_per_hour: float | None = None,
    cost_concurrency: int = 1,
    progress: Progress | None = None,
) -> list[ModelBench]:
    from openscout.models import get_model, list_models
    from openscout.perf.bandwidth import ensure_bandwidth

    specs = [get_model(settings, m) for m in model_ids] if model_ids else list_models(settings)
    config = config or BenchConfig()
    bw = ensure_bandwidth(settings, fresh=True)
    return [
        bench_one(
            spec,
            settings,
            config,
            price_per_hour=price_per_hour,
            cost_concurrency=cost_concurrency,
            bandwidth_gbs=bw,
            progress=progress,
        )
        for spec in specs
    ]


def store_result(settings: Settings, spec: ModelSpec, bench: ModelBench) -> None:
    from openscout.perf.bandwidth import host_key

    r = bench.result
    conn = connect(settings.db_path)
    try:
        conn.execute(
            "INSERT INTO bench_results (model_id, engine, host, version, config_json, result_json,"
            " output_tps, ttft_s, memory_bytes) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                spec.id,
                spec.engine,
                host_key(),
                RESULT_VERSION,
                json.dumps(r.config),
                json.dumps(bench.as_dict()),
                r.output_tps,
                r.ttft_s,
                r.memory_bytes,
            ),
        )
    finally:
        conn.close()


def recent_results(
    settings: Settings, model_id: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    conn = connect(settings.db_path)
    try:
        sql, args = "SELECT * FROM bench_results", []
        if model_id:
            sql += " WHERE model_id = ?"
            args.append(model_id)
        rows = conn.execute(sql + " ORDER BY id DESC LIMIT ?", [*args, limit]).fetchall()
        return [dict(row) | {"result": json.loads(row["result_json"])} for row in rows]
    finally:
        conn.close()
