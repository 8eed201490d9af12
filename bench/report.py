"""Where the figures go: docs/benchmarks.md (one section per benchmark, between its markers),
docs/benchmarks.json (one key per benchmark), plots under docs/images/, and the raw figures of
a run in its own directory. `--doc PATH` sends all three elsewhere (a trial run must not replace
the committed figures).

The plots take plain series (milliseconds, counts), so that this module knows no benchmark's
result types.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from machine import machine, versions
from stack import REPO

DOC = REPO / "docs" / "benchmarks.md"
PREAMBLE = (
    "# Benchmarks\n\nFigures measured by the programs in `bench/`, each section on the machine it"
    " names. They describe one run; they are not tests and gate nothing.\n"
)


def add_output_arguments(
    parser: argparse.ArgumentParser, quick: Mapping[str, object] | None = None
) -> None:
    """--write and --doc; with `quick`, also --quick, which makes those the defaults."""
    parser.add_argument("--write", action="store_true", help="write the figures to --doc")
    parser.add_argument(
        "--doc", type=Path, default=DOC, help="markdown file to update (.json, images/ beside it)"
    )
    if quick is not None:
        parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
        if "--quick" in sys.argv[1:]:
            parser.set_defaults(**quick)


@dataclass(frozen=True)
class Output:
    """A benchmarks document, its JSON twin and its images folder."""

    doc: Path = DOC

    @classmethod
    def of(cls, args: argparse.Namespace) -> Output | None:
        """Where `--write` sends the figures, or None without it."""
        return cls(args.doc.resolve()) if args.write else None

    @property
    def json(self) -> Path:
        return self.doc.with_suffix(".json")

    def image(self, name: str) -> tuple[Path, str]:
        """The file of an image and its link from the document."""
        return self.doc.parent / "images" / name, f"images/{name}"

    def write_section(self, marker: str, body: str) -> None:
        """Replace the text between `<!-- marker:start -->` and `<!-- marker:end -->`, or
        append it; the file is read just before writing, so other sections stay as they are."""
        start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
        block = f"{start}\n{body.rstrip()}\n{end}"
        text = self.doc.read_text() if self.doc.exists() else PREAMBLE
        if start in text and end in text:
            before, rest = text.split(start, 1)
            text = before + block + rest.split(end, 1)[1]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        self.doc.parent.mkdir(parents=True, exist_ok=True)
        self.doc.write_text(text)
        print(f"wrote the {marker} section of {self.doc}", flush=True)

    def write_json(self, key: str, data: Any) -> None:
        """Replace one key of the JSON document, keeping the others."""
        whole = json.loads(self.json.read_text()) if self.json.exists() else {}
        whole[key] = json.loads(to_json(data))
        self.json.write_text(json.dumps(whole, indent=2, sort_keys=True) + "\n")
        print(f"wrote the {key} key of {self.json}", flush=True)

    def merge_json(self, key: str, entries: dict[str, Any]) -> None:
        """Replace these entries of one key (presets, configurations), keeping its others."""
        whole = json.loads(self.json.read_text()) if self.json.exists() else {}
        self.write_json(key, {**whole.get(key, {}), **entries})


def to_json(data: Any) -> str:
    """Dataclasses as dicts; anything else JSON does not know as its text."""

    def default(value: Any) -> Any:
        if is_dataclass(value) and not isinstance(value, type):
            return asdict(value)
        return str(value)

    return json.dumps(data, default=default, indent=1)


def save_raw(run_dir: Path, name: str, data: Any) -> None:
    """Every figure of the run, for a later look, in the run's own directory."""
    path = run_dir / f"{name}.json"
    path.write_text(to_json(data))
    print(f"raw figures: {path}", flush=True)


def header(command: str, packages: Sequence[str] = (), tools: Sequence[str] = ()) -> list[str]:
    return [
        f"- Command: `{command}`",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}",
        f"- Versions: {versions(list(packages), list(tools))}",
    ]


def table(
    head: Sequence[str], rows: Sequence[Sequence[str]], numeric_first: bool = False
) -> list[str]:
    """A markdown table, the figures right-aligned (and the first column too if numeric)."""
    first = "---:" if numeric_first else "---"
    lines = ["| " + " | ".join(head) + " |", f"|{first}|" + "---:|" * (len(head) - 1)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def verdict(met: bool) -> str:
    return "met" if met else "**not met**"


# --- plots ------------------------------------------------------------------------------------


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (add it to the dev dependencies)")
        return None
    return plt


def _save(plt: Any, fig: Any, path: Path) -> bool:
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _cdf(ax: Any, values_ms: Sequence[float], label: str) -> None:
    ordered = sorted(values_ms)
    ax.plot(ordered, np.linspace(0, 1, len(ordered)), label=label)


def plot_timeline(
    spans_ms: dict[str, dict[str, tuple[float, float]]],
    heard_ms: dict[str, float],
    target_ms: float,
    path: Path,
) -> bool:
    """One panel per run: each span drawn from the p50 of its start to the p50 of its end
    (overlap shows as overlap), the p50 voice to voice and the target as vertical lines."""
    plt = _pyplot()
    if plt is None:
        return False
    runs = list(spans_ms)
    fig, axes = plt.subplots(len(runs), 1, figsize=(10, 1.2 + 2.6 * len(runs)), squeeze=False)
    for ax, run in zip(axes[:, 0], runs, strict=True):
        names = list(spans_ms[run])[::-1]
        for row, name in enumerate(names):
            start, end = spans_ms[run][name]
            if start == start and end == end:  # both measured
                ax.barh(row, end - start, left=start, color=f"C{row % 10}")
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.axvline(heard_ms[run], color="k", label=f"voice to voice p50 {heard_ms[run]:.0f} ms")
        ax.axvline(target_ms, color="grey", linestyle=":", label=f"target {target_ms:.0f} ms")
        ax.set_title(f"{run}: one turn, p50 of every moment", fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
    axes[-1, 0].set_xlabel("ms after the caller's last voiced frame was sent")
    return _save(plt, fig, path)


def plot_cdfs(
    series_ms: dict[str, list[float]], targets_ms: dict[str, float], xlabel: str, path: Path
) -> bool:
    """The distribution of each series, each target a dotted line of the same colour."""
    plt = _pyplot()
    if plt is None:
        return False
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for index, (label, values) in enumerate(series_ms.items()):
        _cdf(ax, values, label)
        if label in targets_ms:
            ax.axvline(targets_ms[label], color=f"C{index}", linestyle=":",
                       label=f"{label}: target")  # fmt: skip
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of sessions")
    ax.legend(fontsize=8)
    return _save(plt, fig, path)


def plot_capacity(
    levels: list[int],
    latency_ms: dict[str, list[float]],
    latency_bound_ms: float,
    cpu_cores: dict[str, list[float]],
    memory_mb: dict[str, list[float]],
    memory_bound_mb: float,
    path: Path,
) -> bool:
    """Left: latency percentiles by level against the bound; right: CPU and memory per
    conversation by level."""
    plt = _pyplot()
    if plt is None:
        return False
    fig, (lat, res) = plt.subplots(1, 2, figsize=(11, 4))
    for label, values in latency_ms.items():
        lat.plot(levels, values, "o-", label=label)
    lat.axhline(latency_bound_ms, color="grey", linestyle=":", label="bound")
    lat.set_xlabel("simultaneous conversations")
    lat.set_ylabel("voice to voice, ms")
    lat.legend(fontsize=8)
    for index, (label, values) in enumerate(cpu_cores.items()):
        res.plot(levels, values, "o-", color=f"C{index}", label=label)
    mem = res.twinx()
    for index, (label, values) in enumerate(memory_mb.items()):
        mem.plot(levels, values, "s--", color=f"C{index + 2}", label=label)
    mem.axhline(memory_bound_mb, color="grey", linestyle=":")
    res.set_xlabel("simultaneous conversations")
    res.set_ylabel("cores per conversation")
    mem.set_ylabel("MB per conversation")
    res.legend(loc="upper left", fontsize=8)
    mem.legend(loc="upper right", fontsize=8)
    return _save(plt, fig, path)
