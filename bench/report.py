"""Write REPORT.md and its PNG charts next to a bench run's results.json.

    bench/.venv/bin/python bench/report.py bench/results/latest/results.json [--before old/results.json]

Runs in the bench's own environment: the standard library and matplotlib only, none of the project's code.
Every figure is shown against a baseline measured in the same run; any part of the results may be missing,
and any value may be null ("—" in the report). With --before, a section compares the headline figures with
an earlier run (the code before a fix).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend is chosen first)
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import LogFormatter, NullFormatter, NullLocator  # noqa: E402

DASH = "—"
DPI = 110
JOB_ENDPOINT = "GET /jobs/{id}"
# The targets the report holds each run to (docs/benchmarks/README.md says where they come from).
BARE_TARGET = 0.50          # GET /jobs/{id} ÷ bare Flask answering the same bytes from memory
PSYCOPG_TARGET = 0.85       # GET /jobs/{id} ÷ bare Flask reading the same row with raw psycopg
BUS_TARGET = 0.60           # the bus path ÷ raw pika publish+consume with confirms
P99_TARGET_MS = 60.0        # approve→released p99 with PARALLEL_AT stories in parallel
ONE_P50_TARGET_MS = 20.0    # approve→released p50 with one story at a time
BOUND_TARGET = 0.15         # complete stories/s with PARALLEL_AT in parallel ÷ the commit bound
PARALLEL_AT = 6  # the stories in parallel whose throughput is read against the commit bound
SIDES = ("service", "bare", "psycopg")
STORY_KEYS = ("http_requests", "http_writes", "events", "deliveries", "timers", "commits")


# --- values and formats ---------------------------------------------------------------------------------------

def get(data, *keys):
    """data[k1][k2]..., or None when any step is missing or null."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def num(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def ratio(top, bottom) -> float | None:
    top, bottom = num(top), num(bottom)
    return top / bottom if top is not None and bottom else None


def rate(value) -> str:
    value = num(value)
    return DASH if value is None else f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def ms(value) -> str:
    value = num(value)
    return DASH if value is None else f"{value:,.1f}" if value >= 10 else f"{value:.2f}"


def ms_of(value) -> str:
    """A latency with its unit, or "—"."""
    return DASH if num(value) is None else f"{ms(value)} ms"


def pct(value) -> str:
    value = num(value)
    return DASH if value is None else f"{value:.0%}" if value >= 0.1 else f"{value:.1%}"


def times(value) -> str:
    value = num(value)
    return DASH if value is None else f"{value:,.0f}×" if value >= 100 else f"{value:.1f}×" if value >= 1 \
        else f"{value:.2f}×"


def mib(value) -> str:
    value = num(value)
    return DASH if value is None else f"{value / 2**20:,.1f}"


def text(value) -> str:
    return DASH if value is None or value == "" else str(value)


def verdict(met: bool | None) -> str:
    return "not measured" if met is None else "**met**" if met else "**not met**"


def table(header: list[str], rows: list[list[str]], align: str = "---:") -> list[str]:
    """A Markdown table, its first column left-aligned and the others by `align`."""
    cells = [[str(cell).replace("|", "\\|") for cell in row] for row in [header, *rows]]
    lines = ["| " + " | ".join(cells[0]) + " |", "|---" + f"|{align}" * (len(header) - 1) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in cells[1:]]


# --- charts ---------------------------------------------------------------------------------------------------

def save(fig, folder: Path, name: str, alt: str) -> list[str]:
    fig.tight_layout()
    fig.savefig(folder / name, dpi=DPI)
    plt.close(fig)
    return ["", f"![{alt}]({name})"]


def log2_x(ax, values: list) -> None:
    """A log2 x axis ticked at the measured points only."""
    ticks = sorted({v for v in values if num(v)})
    ax.set_xscale("log", base=2)
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())


def log_y(ax) -> None:
    """A log y axis labelled in plain numbers (100, not 10²)."""
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(LogFormatter())
    ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False))


def series(points: list[dict], x: str, *y: str) -> tuple[list, list]:
    """The (x, y) pairs of points where both are numbers, ordered by x."""
    pairs = sorted((num(p.get(x)), num(get(p, *y))) for p in points if num(p.get(x)) and num(get(p, *y)) is not None)
    return [a for a, _ in pairs], [b for _, b in pairs]


def plottable(points: list[dict], x: str) -> bool:
    return any(series(points, x, *y)[0] for y in (("stories_per_s",), ("approve_to_released", "p99_ms")))


def http_chart(endpoints: list[dict], folder: Path, name: str, metric: str, label: str, title: str) -> list[str]:
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    handles = []
    for number, endpoint in enumerate(endpoints):
        color = f"C{number % 10}"
        for side, style in zip(SIDES, ("-", "--", ":")):
            xs, ys = series(endpoint.get("runs") or [], "connections", side, metric)
            ax.plot(xs, ys, style, marker="o", color=color)
        handles.append(Line2D([], [], color=color, marker="o", label=endpoint.get("name", "?")))
    handles += [Line2D([], [], color="grey", label="service"),
                Line2D([], [], color="grey", ls="--", label="bare Flask")]
    if any(has_psycopg(endpoint) for endpoint in endpoints):
        handles.append(Line2D([], [], color="grey", ls=":", label="bare psycopg read"))
    log_y(ax)
    log2_x(ax, [run.get("connections") for e in endpoints for run in e.get("runs") or []])
    ax.set(title=title, xlabel="connections (wrk)", ylabel=label)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(handles=handles, fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return save(fig, folder, name, title)


def bars_chart(labels: list[str], values: list[float], folder: Path) -> list[str]:
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    colors = ["tab:blue" if label.startswith(("whole", "drain")) else "tab:grey" for label in labels]
    bars = ax.barh(labels[::-1], values[::-1], color=colors[::-1])
    ax.bar_label(bars, [rate(v) for v in values[::-1]], padding=3, fontsize=8)
    ax.set(title="The bus against its baselines", xlabel="events, messages or commits per second")
    ax.margins(x=0.12)
    ax.grid(True, axis="x", alpha=0.3)
    return save(fig, folder, "bus.png", "The bus against its baselines")


def sagas_chart(points: list[dict], x: str, xlabel: str, bound: dict, folder: Path, name: str, title: str) -> list[str]:
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4.4))
    left.plot(*series(points, x, "stories_per_s"), marker="o", label="measured")
    if bound.get("stories_per_s"):
        left.axhline(bound["stories_per_s"], color="grey", ls="--", label=f"bound ({bound['binds']})")
    left.set(title="Throughput", xlabel=xlabel, ylabel="stories/s", ylim=(0, None))
    for key, marker in (("p50_ms", "o"), ("p99_ms", "s")):
        right.plot(*series(points, x, "approve_to_released", key), marker=marker, label=key.split("_")[0])
    right.axhline(P99_TARGET_MS, color="tab:red", ls=":", label=f"p99 target at {PARALLEL_AT} in parallel")
    if bound.get("latency_ms"):
        right.axhline(bound["latency_ms"], color="grey", ls="--", label="bound")
    log_y(right)
    right.set(title="approve → released", xlabel=xlabel, ylabel="ms (log)")
    for ax in (left, right):
        log2_x(ax, [p.get(x) for p in points])
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    fig.suptitle(title)
    return save(fig, folder, name, title)


def latency_chart(points: list[dict], one_story: dict, bound: dict, by_commits, folder: Path) -> list[str]:
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4.4))
    for key, marker in (("p50_ms", "o"), ("p99_ms", "s")):
        left.plot(*series(points, "clients", "approve_to_released", key), marker=marker, label=key.split("_")[0])
    for key, style in (("p50_ms", "-."), ("p99_ms", ":")):
        value = num(get(one_story, "approve_to_released", key))
        if value:
            left.axhline(value, color="tab:green", ls=style, label=f"one at a time, {key.split('_')[0]}")
    left.axhline(P99_TARGET_MS, color="tab:red", ls=":", label=f"p99 target at {PARALLEL_AT} in parallel")
    if bound.get("latency_ms"):
        left.axhline(bound["latency_ms"], color="grey", ls="--", label="bound")
    log_y(left)
    left.set(title="approve → released", xlabel="stories in parallel", ylabel="ms (log)")
    right.plot(*series(points, "clients", "stories_per_s"), marker="o", label="measured")
    if by_commits:
        right.axhline(by_commits, color="grey", ls="--", label="commit bound")
    log_y(right)  # the bound may stand far above what is measured
    right.set(title="Throughput", xlabel="stories in parallel", ylabel="stories/s (log)")
    for ax in (left, right):
        ticks = sorted({num(p.get("clients")) for p in points if num(p.get("clients"))})
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    fig.suptitle("approve → released against stories in parallel")
    return save(fig, folder, "sagas_latency.png", "approve → released against stories in parallel")


def memory_chart(labels: list[str], rest: list, load: list, folder: Path) -> list[str]:
    fig, ax = plt.subplots(figsize=(max(6.0, 0.5 * len(labels) + 2), 4.2))
    xs = range(len(labels))
    for offset, values, label in ((-0.2, rest, "at rest"), (0.2, load, "under load")):
        ax.bar([x + offset for x in xs], [(num(v) or 0) / 2**20 for v in values], width=0.4, label=label)
    ax.set_xticks(list(xs), labels, rotation=45, ha="right", fontsize=8)
    ax.set(title="Memory (RSS) per process", ylabel="MiB")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, folder, "memory.png", "Memory per process")


# --- headline figures -----------------------------------------------------------------------------------------

def job_ratios(http: dict, baseline: str = "bare") -> list[tuple[int, float | None]]:
    """(connections, service rps ÷ the baseline's rps) for GET /jobs/{id}: bare Flask, or the raw-psycopg read."""
    endpoint = next((e for e in http.get("endpoints") or [] if e.get("name") == JOB_ENDPOINT), {})
    return [(run.get("connections"), ratio(get(run, "service", "rps"), get(run, baseline, "rps")))
            for run in endpoint.get("runs") or []]


def has_psycopg(endpoint: dict) -> bool:
    return any(run.get("psycopg") for run in endpoint.get("runs") or [])


def bus_ratio(bus: dict) -> float | None:
    return ratio(get(bus, "path", "events_per_s"), get(bus, "pika", "confirmed", "messages_per_s"))


def parallel_at(sagas: dict, clients: int = PARALLEL_AT) -> dict | None:
    return next((p for p in sagas.get("parallel") or [] if num(p.get("clients")) == clients), None)


def commit_bound(sagas: dict, bus: dict, point: dict | None) -> tuple[float | None, float | None]:
    """(commits a story, PostgreSQL commits/s on 4 connections ÷ that): the story's commits as counted in the
    point itself, or over the busiest concurrency point when the point has none."""
    commits = num((point or {}).get("commits")) or num(get(sagas, "story", "commits"))
    return commits, ratio(get(bus, "postgres", "4", "commits_per_s"), commits)


def saga_bound(sagas: dict, bus: dict) -> dict:
    """What the baselines allow one story: stories/s and approve→released latency."""
    story = sagas.get("story") or {}
    by_commits = ratio(get(bus, "postgres", "4", "commits_per_s"), story.get("commits"))
    by_messages = ratio(get(bus, "pika", "confirmed", "messages_per_s"), story.get("deliveries"))
    limits = [(v, who) for v, who in ((by_commits, "PostgreSQL commits"), (by_messages, "broker messages")) if v]
    stories, binds = min(limits) if limits else (None, None)
    commits, hops = num(get(story, "chain", "commits")), num(get(story, "chain", "hops"))
    commit_ms, hop_ms = num(get(bus, "postgres", "1", "p50_ms")), num(get(bus, "pika", "confirmed", "p50_ms"))
    parts = (commits, hops, commit_ms, hop_ms)
    latency = commits * commit_ms + hops * hop_ms if None not in parts else None
    return {"stories_per_s": stories, "binds": binds, "by_commits": by_commits, "by_messages": by_messages,
            "latency_ms": latency}


# --- sections -------------------------------------------------------------------------------------------------

def summary(results: dict) -> list[str]:
    machine = results.get("machine") or {}
    rows = [[name, shown, goal, verdict(met)] for name, shown, goal, met in targets(results)]
    return [f"Run started {text(results.get('started'))} on {text(machine.get('cpu'))} "
            f"({text(machine.get('cores'))} cores).", "",
            *table(["figure", "this run", "target", "verdict"], rows, align="---")]


def targets(results: dict) -> list[tuple[str, str, str, bool | None]]:
    """Each target: (figure, this run's value, the target, met or not; None when the run did not measure it)."""
    http, bus, sagas = (results.get(part) or {} for part in ("http", "bus", "sagas"))
    at, one = parallel_at(sagas) or {}, sagas.get("one_story") or {}
    p99 = num(get(at, "approve_to_released", "p99_ms"))
    p50 = num(get(one, "approve_to_released", "p50_ms"))
    bound, bus_share = ratio(at.get("stories_per_s"), commit_bound(sagas, bus, at or None)[1]), bus_ratio(bus)

    def met(value, goal, below: bool = False) -> bool | None:
        return None if value is None else value < goal if below else value >= goal

    def least(pairs: list[tuple[int, float | None]]) -> tuple[str, float | None]:
        """Every connection count's ratio, and the least of them (a target holds at every count or not at all)."""
        known = [(c, r) for c, r in pairs if r is not None]
        shown = " / ".join(f"{pct(r)} at {c}" for c, r in known)
        return (f"{shown} conn" if known else DASH), min((r for _, r in known), default=None)

    psycopg_shown, psycopg = least(job_ratios(http, "psycopg"))
    bare_shown, bare = least(job_ratios(http))
    return [(f"approve→released p99, {PARALLEL_AT} stories in parallel", ms_of(p99), f"< {P99_TARGET_MS:g} ms",
             met(p99, P99_TARGET_MS, below=True)),
            ("approve→released p50, one story at a time", ms_of(p50), f"< {ONE_P50_TARGET_MS:g} ms",
             met(p50, ONE_P50_TARGET_MS, below=True)),
            (f"complete stories/s at {PARALLEL_AT} in parallel ÷ the commit bound", pct(bound),
             f"≥ {BOUND_TARGET:.0%}", met(bound, BOUND_TARGET)),
            ("GET /jobs/{id} ÷ bare Flask reading the row with raw psycopg", psycopg_shown,
             f"≥ {PSYCOPG_TARGET:.0%}", met(psycopg, PSYCOPG_TARGET)),
            ("GET /jobs/{id} ÷ bare Flask answering from memory", bare_shown, f"≥ {BARE_TARGET:.0%}",
             met(bare, BARE_TARGET)),
            ("the bus path ÷ raw pika publish+consume with confirms", pct(bus_share), f"≥ {BUS_TARGET:.0%}",
             met(bus_share, BUS_TARGET))]


def machine_section(results: dict) -> list[str]:
    machine = results.get("machine") or {}
    loads = [", ".join(f"{v:g}" for v in machine.get(key) or []) or DASH
             for key in ("load_average", "load_average_after")]
    rows = [["CPU", text(machine.get("cpu"))], ["Cores", text(machine.get("cores"))],
            ["Memory (GiB)", text(machine.get("memory_gib"))], ["OS", text(machine.get("os"))],
            ["Kernel", text(machine.get("kernel"))], ["Python", text(machine.get("python"))],
            ["PostgreSQL", text(machine.get("postgresql"))], ["RabbitMQ", text(machine.get("rabbitmq"))],
            ["wrk", text(machine.get("wrk"))], ["Load average at start (1, 5, 15 min)", loads[0]],
            ["Load average at end", loads[1]]]
    took = ", ".join(f"{part} {results[part]['seconds']:g} s" for part in ("http", "bus", "sagas")
                     if num(get(results, part, "seconds")) is not None)
    return ["## Machine", "", *table(["", ""], rows, align="---"), "",
            f"The load generators (wrk, the saga clients) and the services share these {text(machine.get('cores'))} "
            "cores, and PostgreSQL and RabbitMQ run on the same machine: absolute figures are lower than with a "
            "load generator of its own, which is why each is read against a baseline measured the same way."
            + (f" The parts took: {took}." if took else "")]


def http_section(http: dict, folder: Path) -> list[str]:
    settings = http.get("settings") or {}
    endpoints = http.get("endpoints") or []
    lines = ["## HTTP", "",
             f"Each endpoint under wrk for {text(settings.get('duration_s'))} s per point, against a bare Flask "
             "endpoint returning a JSON body of the same size under the same gunicorn settings "
             f"({text(settings.get('api_workers'))} workers × {text(settings.get('api_threads'))} threads). "
             f"The jobs database holds {text(settings.get('jobs'))} jobs; the search word "
             f"“{text(settings.get('search_word'))}” matches {text(settings.get('search_matches'))}. "
             "rps ratio = service rps ÷ bare rps; latency ratio = service latency ÷ bare latency (× slower). "
             "⚠ marks a point with connection errors or unexpected statuses."]
    jobs = [f"{pct(r)} at {c}" for c, r in job_ratios(http)]
    if jobs:
        lines += ["", f"**GET /jobs/{{id}} against bare Flask (target ≥ {BARE_TARGET:.0%}):** {'; '.join(jobs)} "
                      "connections."]
    limit = [f"{pct(r)} at {c}" for c, r in job_ratios(http, "psycopg") if r is not None]
    if limit:
        lines += ["", f"**GET /jobs/{{id}} against the stack's limit:** {'; '.join(limit)} connections. The limit is "
                      "the same bare app reading the same job and its skills with raw psycopg (one autocommit "
                      "statement on a connection of the thread's own: no pool, ORM or schema) and answering the "
                      "same JSON; the gap between the service and it is what the kit and the service add (the pool and its "
                      "ping, the transaction, the ORM, the schema)."]
    for endpoint in endpoints:
        sides = SIDES if has_psycopg(endpoint) else SIDES[:2]
        lines += ["", f"### {text(endpoint.get('name'))} ({text(endpoint.get('bytes'))} bytes)", "",
                  *table(http_header(sides), [http_row(run, sides) for run in endpoint.get("runs") or []])]
    if any(series(e.get("runs") or [], "connections", side, "rps")[0] for e in endpoints for side in SIDES):
        lines += http_chart(endpoints, folder, "http_rps.png", "rps", "requests/s (log)",
                            "Throughput against connections")
        lines += http_chart(endpoints, folder, "http_p99.png", "p99_ms", "p99 ms (log)",
                            "p99 latency against connections")
    return lines


def http_header(sides: tuple[str, ...]) -> list[str]:
    """The columns of an endpoint's table: one ratio against bare Flask, or one against each baseline."""
    if len(sides) == 2:
        return ["connections", "service rps", "bare rps", "rps ratio", "p50 ms (service / bare)", "p50 ×",
                "p99 ms (service / bare)", "p99 ×", ""]
    return ["connections", "service rps", "bare rps", "psycopg rps", "÷ bare", "÷ psycopg",
            "p50 ms (service / bare / psycopg)", "p50 × (bare / psycopg)", "p99 ms (service / bare / psycopg)",
            "p99 × (bare / psycopg)", ""]


def http_row(run: dict, sides: tuple[str, ...] = SIDES[:2]) -> list[str]:
    measured = [run.get(side) or {} for side in sides]
    service, baselines = measured[0], measured[1:]
    flags = [f"⚠ {side}: {num(m.get('errors')) or 0:g} errors, {num(m.get('unexpected_status')) or 0:g} unexpected"
             for side, m in zip(sides, measured)
             if (num(m.get("errors")) or 0) > 0 or (num(m.get("unexpected_status")) or 0) > 0]
    latencies = [cell for key in ("p50_ms", "p99_ms") for cell in
                 (" / ".join(ms(m.get(key)) for m in measured),
                  " / ".join(times(ratio(service.get(key), m.get(key))) for m in baselines))]
    return [text(run.get("connections")), *(rate(m.get("rps")) for m in measured),
            *(pct(ratio(service.get("rps"), m.get("rps"))) for m in baselines), *latencies, "; ".join(flags)]


def bus_section(bus: dict, folder: Path) -> list[str]:
    baselines = [("PostgreSQL commits, 1 connection", get(bus, "postgres", "1"), "commits_per_s"),
                 ("PostgreSQL commits, 4 connections", get(bus, "postgres", "4"), "commits_per_s"),
                 ("pika publish+consume, confirmed", get(bus, "pika", "confirmed"), "messages_per_s"),
                 ("pika publish+consume, unconfirmed", get(bus, "pika", "unconfirmed"), "messages_per_s")]
    batch = text(bus.get("consumer_batch"))
    paths = [(f"whole path (CONSUMER_BATCH={batch})", bus.get("path") or {}),
             ("whole path, a transaction for each delivery (CONSUMER_BATCH=1)", bus.get("path_alone") or {}),
             ("drain", bus.get("drain") or {})]
    paths = [(label, data) for label, data in paths if data]
    lines = ["## Bus", "",
             f"{text(bus.get('events'))} events of {text(bus.get('bytes'))} bytes, {text(bus.get('producers'))} "
             f"producer threads, prefetch {text(bus.get('prefetch'))}. The whole path is outbox → relay → broker → "
             "consumer → inbox → handler commit, its latency from the outbox commit to the handler's; the drain is "
             "the same path emptying an outbox filled beforehand. The consumer decides on up to CONSUMER_BATCH deliveries "
             "waiting at once in one transaction, a savepoint for each. Ratios = events/s ÷ the baseline's messages "
             "or commits per second.", "", "### Baselines", "",
             *table(["baseline", "per second", "p50 ms", "p99 ms"],
                    [[label, rate(get(data, key)), ms(get(data, "p50_ms")), ms(get(data, "p99_ms"))]
                     for label, data, key in baselines]), "", "### The path against them", ""]
    against = [get(bus, "pika", "confirmed", "messages_per_s"), get(bus, "pika", "unconfirmed", "messages_per_s"),
               get(bus, "postgres", "1", "commits_per_s")]
    lines += table(["measure", "events/s", "p50 ms", "p99 ms", "÷ pika confirmed", "÷ pika unconfirmed",
                    "÷ PG commits (1 conn)"],
                   [[label, rate(d.get("events_per_s")), ms(d.get("p50_ms")), ms(d.get("p99_ms")),
                     *(pct(ratio(d.get("events_per_s"), baseline)) for baseline in against)] for label, d in paths])
    ratio_ = bus_ratio(bus)
    if ratio_ is not None:
        lines += ["", f"**Against the {BUS_TARGET:.0%} target:** the whole path reaches {pct(ratio_)} of raw pika "
                      f"publish+consume with confirms — {verdict(ratio_ >= BUS_TARGET)}."]
    bars = [(label, num(d.get("events_per_s"))) for label, d in paths]
    bars += [(label.replace("publish+consume, ", ""), num(get(data, key))) for label, data, key in baselines]
    bars = [(label, value) for label, value in bars if value]
    return lines + (bars_chart(*map(list, zip(*bars)), folder) if bars else [])


def sagas_section(sagas: dict, bus: dict, folder: Path) -> list[str]:
    settings, story = sagas.get("settings") or {}, sagas.get("story") or {}
    bound = saga_bound(sagas, bus)
    lines = ["## Sagas", "",
             f"Complete hire-to-release stories by N concurrent clients for {text(settings.get('duration_s'))} s per "
             f"point, among {text(settings.get('parties'))} parties; APIs at {text(settings.get('api_workers'))} "
             f"workers × {text(settings.get('api_threads'))} threads. One story takes, on average:", "",
             *table(["HTTP requests", "HTTP writes", "events", "deliveries", "timers", "commits"],
                    [[text(story.get(key)) for key in STORY_KEYS]]),
             "", f"approve→released crosses {text(get(story, 'chain', 'commits'))} commits and "
                 f"{text(get(story, 'chain', 'hops'))} broker hops: {text(get(story, 'chain', 'path'))}.", "",
             *bound_text(bound, story, bus), "", "### Against concurrency", ""]
    lines += saga_table(sagas.get("concurrency") or [], bound)
    if plottable(sagas.get("concurrency") or [], "clients"):
        lines += sagas_chart(sagas["concurrency"], "clients", "concurrent clients", bound, folder,
                             "sagas_concurrency.png", "Sagas against concurrency")
    return lines + failures(sagas.get("concurrency") or [])


def latency_section(sagas: dict, bus: dict, folder: Path) -> list[str]:
    one, points = sagas.get("one_story") or {}, sagas.get("parallel") or []
    settings, bound = sagas.get("settings") or {}, saga_bound(sagas, bus)
    lines = ["## approve → released", "", "### One story at a time", ""]
    if one:
        lines += [f"One client plays {text(settings.get('one_story'))} stories one after another "
                  f"({text(one.get('stories'))} completed, {text(one.get('failed'))} failed): only one story is in "
                  "flight, beside the tails of the ones before it (a contract completing, a payout waiting out its "
                  "hold).", "",
                  *table(["stories", "approve→released p50 ms", "p99 ms", "p50 × bound", "p99 × bound",
                          "story p50 / p99 ms", "stories/s"],
                         [[text(one.get("stories")), ms(get(one, "approve_to_released", "p50_ms")),
                           ms(get(one, "approve_to_released", "p99_ms")),
                           times(ratio(get(one, "approve_to_released", "p50_ms"), bound["latency_ms"])),
                           times(ratio(get(one, "approve_to_released", "p99_ms"), bound["latency_ms"])),
                           f"{ms(get(one, 'story_ms', 'p50_ms'))} / {ms(get(one, 'story_ms', 'p99_ms'))}",
                           rate(one.get("stories_per_s"))]])]
    else:
        lines += ["Not measured."]
    lines += ["", "### Against stories in parallel", "",
              f"N clients for {text(settings.get('duration_s'))} s per point, each with one story in flight at a "
              "time; “× bound” is against the latency bound above.", "", *saga_table(points, bound)]
    at = parallel_at(sagas)
    commits, by_commits = commit_bound(sagas, bus, at)
    if at:
        lines += ["", f"**{PARALLEL_AT} stories in parallel against the commit bound:** "
                      f"{rate(at.get('stories_per_s'))} complete stories/s against PostgreSQL commits/s on 4 "
                      f"connections ÷ commits a story = {rate(get(bus, 'postgres', '4', 'commits_per_s'))} ÷ "
                      f"{text(commits)} = {rate(by_commits)} stories/s: "
                      f"**{pct(ratio(at.get('stories_per_s'), by_commits))} of the bound**."
                      + ("" if bus else " (The bound needs the bus part: this run has none.)")]
    if any(series(points, "clients", "approve_to_released", key)[0] for key in ("p50_ms", "p99_ms")):
        lines += latency_chart(points, one, bound, by_commits, folder)
    return lines + failures([*([one] if one else []), *points])


def bound_text(bound: dict, story: dict, bus: dict) -> list[str]:
    if not bus:
        return ["The bound needs the bus part (its PostgreSQL and pika baselines): this run has none."]
    return [f"**The bound.** stories/s ≤ min(PostgreSQL commits/s on 4 connections ÷ commits per story, pika confirmed "
            f"messages/s ÷ deliveries per story) = min({rate(get(bus, 'postgres', '4', 'commits_per_s'))} ÷ "
            f"{text(story.get('commits'))}, {rate(get(bus, 'pika', 'confirmed', 'messages_per_s'))} ÷ "
            f"{text(story.get('deliveries'))}) = min({rate(bound['by_commits'])}, {rate(bound['by_messages'])}) = "
            f"**{rate(bound['stories_per_s'])} stories/s**, bound by {text(bound['binds'])}. "
            f"approve→released ≥ chain commits × PostgreSQL p50 commit (1 connection) + hops × pika confirmed p50 = "
            f"{text(get(story, 'chain', 'commits'))} × {ms(get(bus, 'postgres', '1', 'p50_ms'))} ms + "
            f"{text(get(story, 'chain', 'hops'))} × {ms(get(bus, 'pika', 'confirmed', 'p50_ms'))} ms = "
            f"**{ms(bound['latency_ms'])} ms**. Below, “of bound” = measured stories/s ÷ bound; “× bound” = "
            "measured latency ÷ bound latency."]


def saga_table(points: list[dict], bound: dict, speedup: bool = False) -> list[str]:
    base = next((num(p.get("stories_per_s")) for p in points if num(p.get("workers")) == 1), None)
    header = ["clients", "workers", "stories", "stories/s", "speed-up vs 1 worker" if speedup else "of bound",
              "approve→released p50 ms", "p99 ms", "p50 × bound", "p99 × bound", "story p50 / p99 ms", "failed"]
    rows = [[text(p.get("clients")), text(p.get("workers")), text(p.get("stories")), rate(p.get("stories_per_s")),
             times(ratio(p.get("stories_per_s"), base)) if speedup
             else pct(ratio(p.get("stories_per_s"), bound["stories_per_s"])),
             ms(get(p, "approve_to_released", "p50_ms")), ms(get(p, "approve_to_released", "p99_ms")),
             times(ratio(get(p, "approve_to_released", "p50_ms"), bound["latency_ms"])),
             times(ratio(get(p, "approve_to_released", "p99_ms"), bound["latency_ms"])),
             f"{ms(get(p, 'story_ms', 'p50_ms'))} / {ms(get(p, 'story_ms', 'p99_ms'))}",
             ("⚠ " if num(p.get("failed")) else "") + text(p.get("failed"))]
            for p in sorted(points, key=lambda p: (num(p.get("workers")) or 0, num(p.get("clients")) or 0))]
    return table(header, rows) if rows else ["Not measured."]


def failures(points: list[dict]) -> list[str]:
    shown = [f"- clients {text(p.get('clients'))}, workers {text(p.get('workers'))}: {str(f)[:200]}"
             for p in points for f in (p.get("failures") or [])[:3]]
    return ["", "Failed stories (up to 3 per point):", "", *shown] if shown else []


def scaling_section(sagas: dict, bus: dict, folder: Path) -> list[str]:
    points = sagas.get("scaling") or []
    settings = sagas.get("settings") or {}
    lines = ["## Scaling", "",
             f"The same stories by {text(settings.get('scaling_clients'))} clients with "
             f"{', '.join(map(str, settings.get('workers') or [])) or DASH} worker processes per service; "
             "speed-up = stories/s ÷ stories/s with 1 worker.", "",
             *saga_table(points, saga_bound(sagas, bus), speedup=True)]
    if plottable(points, "workers"):
        lines += sagas_chart(points, "workers", "worker processes per service", saga_bound(sagas, bus), folder,
                             "sagas_scaling.png", "Sagas against workers per service")
    return lines + failures(points)


def memory_section(memory: dict, folder: Path) -> list[str]:
    rest, load = memory.get("at_rest") or {}, memory.get("under_load") or {}
    labels = list(dict.fromkeys([*rest, *load]))
    rows = [[label, mib(rest.get(label)), mib(load.get(label)),
             DASH if None in (num(rest.get(label)), num(load.get(label)))
             else f"{(load[label] - rest[label]) / 2**20:+,.1f} ({times(ratio(load[label], rest[label]))})"]
            for label in labels]
    header = ["process", "at rest MiB", "under load MiB", "growth MiB"]
    lines = ["## Memory", "", "Resident set size of each API and worker process: at rest (started, before any load) "
             "and under load (the largest seen during the heaviest concurrency point).", "",
             *(table(header, rows) if rows else ["Not measured."])]
    plotted = any(num(v) for v in [*rest.values(), *load.values()])
    return lines + (memory_chart(labels, [rest.get(x) for x in labels], [load.get(x) for x in labels], folder)
                    if plotted else [])


def headlines(results: dict) -> dict[str, tuple]:
    """The figures a fix should move: name → (formatter, value)."""
    bus, http, sagas = (results.get(part) or {} for part in ("bus", "http", "sagas"))
    figures = {"Bus: whole path events/s": (rate, get(bus, "path", "events_per_s")),
               "Bus: whole path ÷ pika confirmed": (pct, bus_ratio(bus)),
               "Bus: drain events/s": (rate, get(bus, "drain", "events_per_s"))}
    for endpoint in http.get("endpoints") or []:
        for run in endpoint.get("runs") or []:
            name = f"HTTP {endpoint.get('name')}, {run.get('connections')} conn"
            figures[f"{name}: rps"] = (rate, get(run, "service", "rps"))
            figures[f"{name}: p99 ms"] = (ms, get(run, "service", "p99_ms"))
            if run.get("psycopg"):
                figures[f"{name}: ÷ raw psycopg"] = (pct, ratio(get(run, "service", "rps"), get(run, "psycopg", "rps")))
    for part, point in [*(("Sagas", p) for p in sagas.get("concurrency") or []),
                        *(("Scaling", p) for p in sagas.get("scaling") or [])]:
        name = f"{part}, clients {point.get('clients')}, workers {point.get('workers')}"
        figures[f"{name}: stories/s"] = (rate, point.get("stories_per_s"))
        figures[f"{name}: approve→released p99 ms"] = (ms, get(point, "approve_to_released", "p99_ms"))
    one = sagas.get("one_story") or {}
    for key in ("p50_ms", "p99_ms") if one else ():
        figures[f"One story at a time: approve→released {key.split('_')[0]} ms"] = \
            (ms, get(one, "approve_to_released", key))
    for point in sagas.get("parallel") or []:
        figures[f"{point.get('clients')} in parallel: approve→released p99 ms"] = \
            (ms, get(point, "approve_to_released", "p99_ms"))
    at = parallel_at(sagas)
    if at:
        figures[f"{PARALLEL_AT} in parallel: of the commit bound"] = \
            (pct, ratio(at.get("stories_per_s"), commit_bound(sagas, bus, at)[1]))
    return figures


def before_section(results: dict, before: dict, before_path: Path) -> list[str]:
    now, then = headlines(results), headlines(before)
    rows = []
    for name in dict.fromkeys([*now, *then]):
        fmt, old = then.get(name, (None, None))
        fmt, new = now.get(name, (fmt, None))
        rows.append([name, fmt(old), fmt(new), times(ratio(new, old))])
    lines = ["## Before and after", "",
             f"Before: {before_path.name} from the run started {text(before.get('started'))}; after: this run. "
             "change = after ÷ before: above 1× is better for throughput and ratios, below 1× for latency.", ""]
    same = [get(before, "machine", k) == get(results, "machine", k) for k in ("cpu", "cores")]
    if not all(same):
        lines += ["⚠ The before run was on another machine: compare with care.", ""]
    if before.get("quick") != results.get("quick"):
        lines += ["⚠ One of the two is a quick run and the other is not: the figures don't compare.", ""]
    return lines + table(["figure", "before", "after", "change"], rows)


def how_to_read(results: dict) -> list[str]:
    return ["## How to read this", "",
            "- Every figure is a ratio against a baseline measured in the same run on the same machine, so it means "
            "something on any hardware; the absolute numbers only describe this machine.",
            "- HTTP: each endpoint against a bare Flask endpoint returning the same JSON size under the same gunicorn "
            "settings, and GET /jobs/{id} also against the same job read with raw psycopg (the stack's limit). "
            "Throughput ratios are percentages (service ÷ baseline); latency ratios are × slower.",
            "- Bus: the whole path (outbox, relay, broker, consumer, inbox, handler commit) against raw pika "
            "publish+consume (with and without confirms) and raw PostgreSQL commits/s.",
            "- Sagas: against the bound computed from those baselines and the commits and messages one story needs; "
            "approve→released one story at a time and against the stories in parallel, and the throughput at "
            f"{PARALLEL_AT} in parallel against the commit bound alone.",
            "- The load generators share the cores with the services, PostgreSQL and RabbitMQ.",
            "- Quick runs (`--quick`) are smoke tests, not figures"
            + (": **this is one**." if results.get("quick") else ".")]


def render(results: dict, folder: Path, before: dict | None = None, before_path: Path | None = None) -> str:
    lines = ["# Marketplace benchmarks", ""]
    if results.get("quick"):
        lines += ["**⚠ A quick run: short and few points, a smoke test, not figures.**", ""]
    lines += summary(results) + [""] + machine_section(results)
    http, bus, sagas = (results.get(part) or {} for part in ("http", "bus", "sagas"))
    if http:
        lines += ["", *http_section(http, folder)]
    if bus:
        lines += ["", *bus_section(bus, folder)]
    if sagas:
        lines += ["", *sagas_section(sagas, bus, folder), "", *latency_section(sagas, bus, folder),
                  "", *scaling_section(sagas, bus, folder),
                  "", *memory_section(sagas.get("memory") or {}, folder)]
    if before is not None:
        lines += ["", *before_section(results, before, before_path)]
    return "\n".join(lines + [""] + how_to_read(results)) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="results.json of a run; the report goes next to it")
    parser.add_argument("--before", type=Path, help="results.json of a run before a fix, to compare with")
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text())
    before = json.loads(args.before.read_text()) if args.before else None
    folder = args.results.resolve().parent
    (folder / "REPORT.md").write_text(render(results, folder, before, args.before))


if __name__ == "__main__":
    main()
