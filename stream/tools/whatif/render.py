"""The what-if report for people: tables in the terminal, and a self-contained HTML page
with the same tables and a chart of observed clearance times (Chart.js, inlined, so the
page opens anywhere, offline)."""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

Row = Sequence[Any]
NONE = "\N{EN DASH}"  # shown for a figure that does not exist


def _number(value: Any) -> str:
    if value is None:
        return NONE
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _arrow(pair: dict[str, Any]) -> str:
    before, after = pair["baseline"], pair["proposed"]
    return str(before) if before == after else f"{before} → {after}"


def _observed(side: dict[str, Any]) -> str:
    return f"{_number(side['mean_hours'])} h (n={side['sample']}, {side['basis']})"


def sections(report: dict[str, Any]) -> list[tuple[str, list[str], list[Row], str]]:
    """Each table: title, header, rows, and a line said under it."""
    inspections, holds = report["inspections"], report["document_holds"]
    ports = sorted(inspections["by_port"].keys() | holds["by_port"].keys())
    return [
        ("Declarations that would change",
         ["port", "goods", "channel", "decision", "why", "declarations", "firms", "e.g."],
         [[c["port"], c["goods"], _arrow(c["channel"]), _arrow(c["decision"]), c["why"],
           c["declarations"], c["firms"], ", ".join(c["examples"][:2])]
          for c in report["changes"]],
         f"{report['changed']:,} of {report['declarations']:,} declarations decided."),
        ("Clearance time, filing to release (an estimate from observed clearances)",
         ["port", "goods", "channel", "declarations", "baseline mean", "proposed mean",
          "change per declaration", "total change"],
         [[e["port"], e["goods"], _arrow(e["channel"]), e["declarations"],
           _observed(e["baseline"]), _observed(e["proposed"]),
           f"{_number(e['estimated_change_hours'])} h", f"{_number(e['estimated_total_hours'])} h"]
          for e in report["clearance"]],
         "Each declaration that changes channel is given the mean clearance observed for "
         "its new channel; n is the number of clearances that mean rests on."),
        ("Inspections and document holds",
         ["port", "inspections", "document holds"],
         [[port, _arrow(inspections["by_port"].get(port, {"baseline": 0, "proposed": 0})),
           _arrow(holds["by_port"].get(port, {"baseline": 0, "proposed": 0}))]
          for port in ports],
         f"Inspections {inspections['baseline']:,} → {inspections['proposed']:,} "
         f"(sampling adds {inspections['sampling_added']:,}, removes "
         f"{inspections['sampling_removed']:,}); document holds {holds['baseline']:,} → "
         f"{holds['proposed']:,}."),
        ("Firms that would gain or lose eligibility",
         ["firm", "change", "to green", "to standard", "standing", "why"],
         [[f["firm_id"], f["change"], f["declarations_to_green"], f["declarations_to_standard"],
           _arrow({k: ", ".join(v) or "eligible" for k, v in f["standing"].items()}),
           "; ".join(f["why"]) or "standing only"]
          for f in report["firms"]],
         f"Standing as of {report['firms_as_of'] or NONE}."),
    ]


def _title(report: dict[str, Any]) -> str:
    b, p = report["policies"]["baseline"], report["policies"]["proposed"]
    return f"What if: policy {b['version']} ({b['file']}) → {p['version']} ({p['file']})"


def _input_line(report: dict[str, Any]) -> str:
    read = report["input"]
    unreadable, repeats = sum(read["unreadable"].values()), sum(read["repeats"].values())
    return (f"Read {read['messages']:,} messages from {report['source']}: {unreadable:,} "
            f"unreadable, {repeats:,} repeats or conflicting copies, {read['firms']:,} firms.")


def console() -> Console:
    """Standard output; 160 columns wide when it is not a terminal (a file, a pipe)."""
    return Console(width=None if sys.stdout.isatty() else 160)


def to_terminal(report: dict[str, Any], console: Console) -> None:
    # Sentences are not wrapped: they are what a reader copies into a message.
    console.print(f"[bold]{_title(report)}[/bold]", highlight=False, soft_wrap=True)
    console.print(_input_line(report), highlight=False, soft_wrap=True)
    for headline in report["headlines"] or ["No declaration would change."]:
        console.print(f"  • {headline}", highlight=False, soft_wrap=True)
    for title, header, rows, note in sections(report):
        if not rows:
            console.print(f"\n[bold]{title}[/bold]: none", highlight=False)
            continue
        table = Table(title=title, title_justify="left")
        for name in header:
            table.add_column(name, overflow="fold")
        for row in rows:
            table.add_row(*(_number(v) for v in row))
        console.print(table)
        console.print(note, highlight=False, soft_wrap=True)


def _html_table(header: list[str], rows: Iterable[Row]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_number(v))}</td>" for v in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(report: dict[str, Any]) -> str:
    chart = (resources.files("stream.read.web") / "static" / "chart.umd.min.js").read_text()
    page = (resources.files("stream.tools.whatif") / "report.html").read_text()
    parts = [f"<h1>{html.escape(_title(report))}</h1>",
             f"<p>{html.escape(_input_line(report))}</p>", "<ul id='headlines'>"]
    parts += [f"<li>{html.escape(h)}</li>"
              for h in report["headlines"] or ["No declaration would change."]]
    parts.append("</ul><section><h2>Observed clearance time, green vs standard</h2>"
                 "<canvas id='chart' width='900' height='320'></canvas></section>")
    for title, header, rows, note in sections(report):
        parts.append(f"<section><h2>{html.escape(title)}</h2>")
        parts.append(_html_table(header, rows) if rows else "<p>none</p>")
        parts.append(f"<p class='note'>{html.escape(note)}</p></section>")
    values = {
        "title": html.escape(_title(report)),
        "body": "\n".join(parts),
        "data": orjson.dumps(report).decode().replace("</", "<\\/"),
        "chart_js": chart,
    }
    # One pass over the template: nothing substituted is looked at again.
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], page)
