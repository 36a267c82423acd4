"""Partner-matching commands: match, backtest and the corridor report. They import boostkg.analysis
(NumPy, SciPy, NetworkX: most of a second) inside their bodies, so that every other command, and
--help, starts without it."""

from __future__ import annotations

import enum
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from boostkg.cli.session import StoreOption, err, opened, out, settings_for

if TYPE_CHECKING:
    from boostkg.analysis.backtest import BacktestResult


class RankPer(enum.Enum):
    """Top candidates per source actor, or top pairs overall (``match``, ``report``)."""

    pair = "pair"
    source = "source"


def report(
    sources: Annotated[str, typer.Option("--from", help="Source side: country or NUTS codes, e.g. DK,EE.")],
    targets: Annotated[str, typer.Option("--to", help="Target side: country or NUTS codes, e.g. RO,BG,ES.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for report.html and report.json.")],
    theme: Annotated[
        list[str] | None, typer.Option("--theme", help="BOOST theme slug(s) (default: the three themes).")
    ] = None,
    actor_type: Annotated[
        list[str] | None, typer.Option("--actor-type", help="ICF actor class(es), e.g. University,SME.")
    ] = None,
    top: Annotated[int, typer.Option(help="Candidate pairs ranked per theme.")] = 20,
    per: Annotated[RankPer, typer.Option(help="Top pairs overall, or per source actor.")] = RankPer.pair,
    backtest: Annotated[
        bool, typer.Option("--backtest", help="Also replay the back-test for the corridor (about a minute).")
    ] = False,
    link_base: Annotated[
        str | None, typer.Option(help="Where the report's links open (default: http://HOST:PORT of `serve`).")
    ] = None,
    pdf: Annotated[bool, typer.Option("--pdf", help="Also print report.pdf with headless Chromium.")] = False,
    store: StoreOption = None,
) -> None:
    """Write a corridor report (self-contained HTML + JSON): summary, coverage, candidates, networks,
    gaps and risks, method, provenance and, with --backtest, the back-test figures."""
    from boostkg.analysis.corridor import split_codes
    from boostkg.analysis.matching import Per
    from boostkg.reports.corridor_report import ReportRequest, write_report
    from boostkg.reports.corridor_run import make_report
    from boostkg.reports.pdf import print_pdf

    settings = settings_for(store)
    request = ReportRequest(
        sources=split_codes(sources),
        targets=split_codes(targets),
        themes=tuple(t.strip() for item in theme or [] for t in item.split(",") if t.strip()),
        actor_types=tuple(t.strip() for item in actor_type or [] for t in item.split(",") if t.strip()),
    )
    base = link_base if link_base is not None else f"http://{settings.host}:{settings.port}"
    with opened(store) as kg:
        built, took = make_report(
            kg, request, top=top, per=Per(per.value), with_backtest=backtest, link_base=base
        )
    html, json_path = write_report(built, out_dir)
    out.print(f"wrote {html} and {json_path}")
    if pdf:
        out.print(f"wrote {print_pdf(html)}")
    out.print(
        f"  {len(built.candidates)} candidates in {len(built.themes)} themes, "
        f"{len(built.risks)} gaps and risks; "
        f"projection {took.projection:.2f} s, matching {took.matching:.2f} s, "
        f"back-test {took.backtest:.2f} s, report {took.report:.2f} s"
    )


class MatchOutput(enum.Enum):
    """Output formats of ``boostkg match``."""

    table = "table"
    json = "json"
    csv = "csv"


def match_command(
    from_: Annotated[
        str, typer.Option("--from", help="Source side: country or NUTS codes, e.g. DK,EE or DK03.")
    ],
    to: Annotated[str, typer.Option("--to", help="Target side: country or NUTS codes, e.g. RO,BG,ES.")],
    theme: Annotated[
        list[str] | None, typer.Option(help="Theme slug, programme part (SC1) or IRI; repeatable.")
    ] = None,
    actor_type: Annotated[
        list[str] | None, typer.Option("--actor-type", help="ICF actor class, e.g. University; repeatable.")
    ] = None,
    top: Annotated[int, typer.Option(help="Candidates per source (or pairs in all, with --per pair).")] = 10,
    per: Annotated[
        RankPer, typer.Option(help="Top N per source actor, or the top N pairs overall.")
    ] = RankPer.source,
    output: Annotated[MatchOutput, typer.Option("--format", help="table, json or csv.")] = MatchOutput.table,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of stdout.")
    ] = None,
    record: Annotated[
        bool, typer.Option("--record/--no-record", help="Write the run into graph/matching/<run-id>.")
    ] = True,
    store: StoreOption = None,
) -> None:
    """Rank, score and explain candidate partnerships between two sides of a corridor."""
    from boostkg.analysis.corridor import Corridor
    from boostkg.analysis.export import result_csv, result_document
    from boostkg.analysis.matching import Per, match
    from boostkg.analysis.results import save_run

    corridor = Corridor.parse(from_, to, themes=theme, actor_types=actor_type)
    with opened(store) as kg:
        result = match(kg, corridor, top=top, per=Per(per.value))
        saved = save_run(kg, result) if record else None
    run = {"id": saved.run_id, "graph": str(saved.graph), "iri": str(saved.run)} if saved else None
    if output is MatchOutput.json:
        text = json.dumps(result_document(result, run=run), indent=2, ensure_ascii=False) + "\n"
    elif output is MatchOutput.csv:
        text = result_csv(result)
    else:
        table = Table("#", "source", "target", "score", "strongest components", "explanation")
        for c in result.candidates:
            strongest = sorted(c.components.items(), key=lambda kv: -kv[1])[:3]
            table.add_row(
                str(c.rank),
                f"{c.source_label} ({c.source_region})",
                f"{c.target_label} ({c.target_region})",
                f"{c.score:.3f}",
                ", ".join(f"{k} {v:.2f}" for k, v in strongest),
                c.explanation,
            )
        buffer = io.StringIO()
        Console(file=buffer, width=200, soft_wrap=False).print(table)
        text = buffer.getvalue()
    summary = (
        f"{len(result.candidates):,} candidates for {result.corridor.describe()} "
        f"({result.source_actors:,} source, {result.target_actors:,} target actors; "
        f"projects {result.data_years[0]}–{result.data_years[1]})"
        + (f"; run recorded in {saved.graph}" if saved else "")
    )
    if out_file is not None:
        out_file.write_text(text, encoding="utf-8")
        err.print(f"{summary}; wrote {out_file}", markup=False, highlight=False)
    else:
        sys.stdout.write(text)
        err.print(summary, markup=False, highlight=False)


def _print_backtest(result: BacktestResult) -> None:
    out.print(
        f"back-test {result.corridor.describe()}: learn {result.learn_from}–{result.cutoff}, "
        f"test {result.cutoff + 1}–{result.test_until}; {result.sources:,} focal source actors, "
        f"{result.candidates:,} candidate targets, {result.true_pairs:,} new pairs",
        markup=False,
    )
    for title, rows in (
        ("all focal actors", result.all),
        ("newcomers (≤ 1 project before)", result.newcomers),
    ):
        table = Table("method", "focal", "hits@10", "MRR", "precision@10", title=title)
        for row in rows:
            table.add_row(
                row.method,
                f"{row.focal:,}",
                f"{row.hits_at_10:.3f}",
                f"{row.mrr:.3f}",
                f"{row.precision_at_10:.4f}",
            )
        out.print(table)
    best_hits, best_mrr = result.best_baseline("hits_at_10"), result.best_baseline("mrr")
    mine = result.method("corridor")
    out.print(
        f"corridor method vs best baseline: hits@10 {mine.hits_at_10:.3f} vs {best_hits.hits_at_10:.3f} "
        f"({best_hits.method}, {100 * (mine.hits_at_10 / best_hits.hits_at_10 - 1):+.0f} %); "
        f"MRR {mine.mrr:.3f} vs {best_mrr.mrr:.3f} ({best_mrr.method}, "
        f"{100 * (mine.mrr / best_mrr.mrr - 1):+.0f} %)",
        markup=False,
    )
    out.print(
        f"newcomers without any project before the cut-off: {result.newcomers_without_history:,}",
        markup=False,
    )
    for note in result.notes:
        out.print(note, markup=False)
    out.print(f"fitted weights (experienced): {result.weights.experienced}", markup=False)
    out.print(f"fitted weights (newcomers):   {result.weights.newcomer}", markup=False)


def backtest_command(
    from_: Annotated[
        str | None, typer.Option("--from", help="Source side codes [default: DK,EE,SE,FI,NL,BE].")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Target side codes [default: RO,BG,ES,HR,PL,HU,LV,SK,EL].")
    ] = None,
    theme: Annotated[list[str] | None, typer.Option(help="Theme filter; repeatable.")] = None,
    learn_from: Annotated[int, typer.Option(help="First project start year learnt from.")] = 2014,
    cutoff: Annotated[int, typer.Option(help="Last project start year learnt from.")] = 2016,
    test_until: Annotated[int, typer.Option(help="Last project start year tested on.")] = 2018,
    output: Annotated[MatchOutput, typer.Option("--format", help="table or json.")] = MatchOutput.table,
    store: StoreOption = None,
) -> None:
    """Replay history: learn up to a cut-off, score candidates against later partnerships, for the
    corridor method, every baseline and a random ranking."""
    from boostkg.analysis.backtest import backtest
    from boostkg.analysis.corridor import BIG_CORRIDOR, Corridor
    from boostkg.analysis.projection import project

    corridor = Corridor.parse(from_ or BIG_CORRIDOR[0], to or BIG_CORRIDOR[1], themes=theme)
    with opened(store) as kg:
        projection = project(kg)
    result = backtest(projection, corridor, learn_from=learn_from, cutoff=cutoff, test_until=test_until)
    if output is MatchOutput.json:
        import dataclasses

        document = dataclasses.asdict(result)
        document["corridor"] = corridor.describe()
        sys.stdout.write(json.dumps(document, indent=2, default=float) + "\n")
    else:
        _print_backtest(result)
