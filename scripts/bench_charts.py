#!/usr/bin/env python3
"""Draws a benchmark load sweep as two standalone SVG charts (standard library only):

- bench-throughput.svg: settled payments/s against offered payments/s, one line per series and a
  dashed y = x reference ("offered = settled"), so the knee, where settled stops following
  offered, shows at a glance;
- bench-latency.svg: end-to-end p50/p95/p99 (ms, log scale) against settled payments/s, one
  colour per series, one dash per percentile, and the 250 ms p99 target as a dashed line.

The input is a TSV, header first, one row per measured point:
    series offered_rate settled_per_sec post_p50_ms post_p99_ms e2e_p50_ms e2e_p95_ms
    e2e_p99_ms errors unfinished
offered_rate is payments/s of the open-loop generator, or `closed` for a closed-loop saturation
run: that row is a diamond, at x = its settled/s on the throughput chart. An empty cell is a
missing value (the point is left out); a latency of 0 (nothing settled) is left out of the log
chart. Same input, same bytes out. Hover a point for its figures. Test: scripts/bench_charts_test.py
(ctest `bench_charts`, label unit).

    python3 scripts/bench_charts.py var/bench/sweep.tsv --out-dir docs/img [--title-suffix "(2 cores)"]
"""
import argparse
import csv
import math
import pathlib
import sys

REQUIRED = ("series", "offered_rate", "settled_per_sec", "e2e_p50_ms", "e2e_p95_ms", "e2e_p99_ms")
NUMERIC = ("settled_per_sec", "post_p50_ms", "post_p99_ms", "e2e_p50_ms", "e2e_p95_ms",
           "e2e_p99_ms", "errors", "unfinished")
# Okabe-Ito, without the yellow (too pale on white); cycled past seven series.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
REFERENCE = "#555555"
GRID = "#E5E5E5"
TARGET_P99_MS = 250.0
PERCENTILES = (  # column, legend, dash, stroke width
    ("e2e_p50_ms", "p50", "2 3", 1.5),
    ("e2e_p95_ms", "p95", "7 4", 1.5),
    ("e2e_p99_ms", "p99", "", 2.5),
)
WIDTH, HEIGHT = 720, 420
LEFT, RIGHT, TOP, BOTTOM = 70, 160, 40, 52  # the plot area's margins; the legend is on the right
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


class InputError(Exception):
    pass


def fail(message):
    print(f"bench_charts: {message}", file=sys.stderr)
    sys.exit(1)


# ---- reading -------------------------------------------------------------------------------

def parse_number(text, column, where):
    """None for an empty cell or nan; raises InputError for anything else that is not a finite
    number >= 0."""
    text = text.strip()
    if text == "" or text.lower() == "nan":
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{where}: {column} is {text!r}, not a number") from None
    if not math.isfinite(value) or value < 0:
        raise InputError(f"{where}: {column} is {text!r}, expected a finite number >= 0")
    return value


def read_sweep(path):
    """Returns [(series, [row])] in the order the series first appear; a row is a dict with
    `closed` (bool), `offered` (float or None) and the NUMERIC columns (float or None)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            lines = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    except csv.Error as e:
        raise InputError(f"{path}: not a TSV file: {e}") from None
    lines = [(n, cells) for n, cells in enumerate(lines, 1) if any(c.strip() for c in cells)]
    if not lines:
        raise InputError(f"{path}: empty file (expected a header line and data rows)")
    header = [c.strip() for c in lines[0][1]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError(f"{path}: the header lacks {', '.join(missing)} (has: {', '.join(header)})")
    column = {name: i for i, name in enumerate(header)}
    series = {}
    for n, cells in lines[1:]:
        where = f"{path}:{n}"
        if len(cells) < len(header):
            raise InputError(f"{where}: {len(cells)} fields, the header has {len(header)}")
        name = cells[column["series"]].strip() or "(unnamed)"
        offered_text = cells[column["offered_rate"]].strip()
        row = {"closed": offered_text.lower() == "closed"}
        row["offered"] = None if row["closed"] else parse_number(offered_text, "offered_rate", where)
        for c in NUMERIC:
            row[c] = parse_number(cells[column[c]], c, where) if c in column else None
        series.setdefault(name, []).append(row)
    if not series:
        raise InputError(f"{path}: no data rows, only a header")
    for rows in series.values():  # open-loop points by offered rate (stable), closed rows last
        rows.sort(key=lambda r: (r["closed"], r["offered"] if r["offered"] is not None else -1.0))
    return list(series.items())


# ---- formatting ----------------------------------------------------------------------------

def num(v):
    """A coordinate: fixed two decimals, trailing zeros dropped, never -0."""
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def figure(v, unit=""):
    """A value for people: thousands separated, one decimal unless whole."""
    if v is None:
        return "n/a"
    s = f"{v:,.0f}" if abs(v - round(v)) < 1e-9 else f"{v:,.1f}"
    return s + unit


def xml_text(s):
    s = "".join(ch for ch in str(s) if ch in "\t\n" or ord(ch) >= 0x20)  # XML 1.0 forbids the rest
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def short(label, limit=18):
    return label if len(label) <= limit else label[:limit - 1] + "\u2026"


class Svg:
    def __init__(self, title):
        self.title = title
        self.body = []

    def add(self, tag, attrs, text=None, tip=None):
        a = "".join(f' {k.rstrip("_").replace("_", "-")}="{xml_text(v)}"' for k, v in attrs.items()
                    if v is not None and v != "")
        inner = (f"<title>{xml_text(tip)}</title>" if tip else "") + (xml_text(text) if text else "")
        self.body.append(f"<{tag}{a}>{inner}</{tag}>" if inner else f"<{tag}{a}/>")

    def line(self, x1, y1, x2, y2, stroke, width=1.0, dash="", class_=None):
        self.add("line", {"class_": class_, "x1": num(x1), "y1": num(y1), "x2": num(x2), "y2": num(y2),
                          "stroke": stroke, "stroke_width": num(width), "stroke_dasharray": dash})

    def text(self, x, y, s, anchor="start", size=None, weight=None, fill="#222222", rotate=None,
             class_=None, tip=None):
        transform = f"rotate({num(rotate)} {num(x)} {num(y)})" if rotate is not None else None
        self.add("text", {"class_": class_, "x": num(x), "y": num(y), "text_anchor": anchor,
                          "font_size": size, "font_weight": weight, "fill": fill,
                          "transform": transform}, s, tip)

    def polyline(self, points, stroke, width, dash="", class_=None, tip=None):
        self.add("polyline", {"class_": class_, "points": " ".join(f"{num(x)},{num(y)}" for x, y in points),
                              "fill": "none", "stroke": stroke, "stroke_width": num(width),
                              "stroke_dasharray": dash, "stroke_linejoin": "round"}, tip=tip)

    def marker(self, x, y, colour, closed, tip, class_="point"):
        if closed:  # a diamond, hollow-looking thanks to the white edge
            r = 5.0
            pts = f"{num(x)},{num(y - r)} {num(x + r)},{num(y)} {num(x)},{num(y + r)} {num(x - r)},{num(y)}"
            self.add("polygon", {"class_": class_ + " closed", "points": pts, "fill": colour,
                                 "stroke": "#FFFFFF", "stroke_width": "1.5"}, tip=tip)
        else:
            self.add("circle", {"class_": class_, "cx": num(x), "cy": num(y), "r": "3.5", "fill": colour,
                                "stroke": "#FFFFFF", "stroke_width": "1"}, tip=tip)

    def render(self):
        head = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
            f"<title>{xml_text(self.title)}</title>",
            f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#FFFFFF"/>',
        ]
        return "\n".join(head + self.body + ["</svg>", ""])


# ---- axes ----------------------------------------------------------------------------------

def linear_ticks(vmax, target=6):
    """Round ticks 0..top with top >= vmax, about `target` intervals."""
    if vmax <= 0:
        vmax = 1.0
    mag = 10.0 ** math.floor(math.log10(vmax / target))
    for m in (1, 2, 2.5, 5, 10):
        step = m * mag
        if vmax / step <= target + 1e-9:
            break
    count = math.ceil(vmax / step - 1e-9)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) + (1 if m == 2.5 and step < 10 else 0)
    return [(i * step, f"{i * step:,.{decimals}f}") for i in range(count + 1)]


def log_ticks(values):
    """The decades (1, 10, 100, ...) just covering the positive values."""
    positive = [v for v in values if v is not None and v > 0] or [1.0, 1000.0]
    lo = math.floor(math.log10(min(positive)) + 1e-9)
    hi = max(lo + 1, math.ceil(math.log10(max(positive)) - 1e-9))
    return [(10.0 ** e, f"{10.0 ** e:,.{max(0, -e)}f}") for e in range(lo, hi + 1)]


class Axes:
    def __init__(self, xticks, yticks, ylog=False):
        self.xticks, self.yticks, self.ylog = xticks, yticks, ylog
        self.xmax = xticks[-1][0]
        self.ylo, self.yhi = yticks[0][0], yticks[-1][0]

    def px(self, x):
        return LEFT + PLOT_W * x / self.xmax

    def py(self, y):
        if self.ylog:
            frac = (math.log10(y) - math.log10(self.ylo)) / (math.log10(self.yhi) - math.log10(self.ylo))
        else:
            frac = (y - self.ylo) / (self.yhi - self.ylo)
        return TOP + PLOT_H * (1 - frac)

    def draw(self, svg, title, xlabel, ylabel):
        svg.text(LEFT + PLOT_W / 2, 24, title, anchor="middle", size="15", weight="bold", class_="chart-title")
        for v, label in self.xticks:
            x = self.px(v)
            svg.line(x, TOP, x, TOP + PLOT_H, GRID)
            svg.line(x, TOP + PLOT_H, x, TOP + PLOT_H + 5, "#444444", class_="tick x")
            svg.text(x, TOP + PLOT_H + 18, label, anchor="middle", class_="tick-label x")
        for v, label in self.yticks:
            y = self.py(v)
            svg.line(LEFT, y, LEFT + PLOT_W, y, GRID)
            svg.line(LEFT - 5, y, LEFT, y, "#444444", class_="tick y")
            svg.text(LEFT - 8, y + 4, label, anchor="end", class_="tick-label y")
        if self.ylog:  # unlabelled minor ticks at 2..9 of each decade
            for decade, _ in self.yticks[:-1]:
                for k in range(2, 10):
                    y = self.py(decade * k)
                    svg.line(LEFT - 3, y, LEFT, y, "#444444")
        svg.add("rect", {"x": num(LEFT), "y": num(TOP), "width": num(PLOT_W), "height": num(PLOT_H),
                         "fill": "none", "stroke": "#444444", "stroke_width": "1"})
        svg.text(LEFT + PLOT_W / 2, HEIGHT - 12, xlabel, anchor="middle", class_="axis-label x")
        svg.text(18, TOP + PLOT_H / 2, ylabel, anchor="middle", rotate=-90, class_="axis-label y")


class Legend:
    def __init__(self, svg):
        self.svg, self.x, self.y = svg, LEFT + PLOT_W + 16, TOP + 8

    def entry(self, label, colour, dash="", width=2.0, marker=None, gap=0):
        self.y += gap
        x, y, svg = self.x, self.y, self.svg
        if dash is not None:
            svg.line(x, y, x + 28, y, colour, width, dash, class_="legend-swatch")
        if marker is not None:
            svg.marker(x + 14, y, colour, marker == "closed", None, class_="legend-marker")
        svg.text(x + 36, y + 4, short(label), class_="legend-label", tip=label if short(label) != label else None)
        self.y += 18


def marker_tip(name, row, what):
    kind = "closed loop" if row["closed"] else f"offered {figure(row['offered'], '/s')}"
    return f"{name}, {kind}: {what}"


def throughput_tip(name, row):
    parts = [f"settled {figure(row['settled_per_sec'], '/s')}",
             f"e2e p99 {figure(row['e2e_p99_ms'], ' ms')}"]
    if row["post_p99_ms"] is not None:
        parts.append(f"POST p99 {figure(row['post_p99_ms'], ' ms')}")
    if row["errors"] is not None:
        parts.append(f"errors {figure(row['errors'])}")
    if row["unfinished"] is not None:
        parts.append(f"unfinished {figure(row['unfinished'])}")
    return marker_tip(name, row, ", ".join(parts))


def join_title(title, suffix):
    """The suffix follows a space, or directly when it starts with a space or , ; : ."""
    if not suffix:
        return title
    return title + suffix if suffix[0] in " ,;:." else f"{title} {suffix}"


# ---- the charts ----------------------------------------------------------------------------

def throughput_chart(sweep, suffix):
    title = join_title("Throughput against offered rate", suffix)
    svg = Svg(title)
    xs, ys = [], []
    for _, rows in sweep:
        for r in rows:
            if r["settled_per_sec"] is not None:
                ys.append(r["settled_per_sec"])
                xs.append(r["settled_per_sec"] if r["closed"] else (r["offered"] or 0.0))
            elif r["offered"] is not None:
                xs.append(r["offered"])
    # Nothing settled at all: the settled axis as long as the offered one, so y = x stays diagonal.
    axes = Axes(linear_ticks(max(xs, default=0.0)), linear_ticks(max(ys, default=0.0) or max(xs, default=0.0)))
    axes.draw(svg, title, "offered (payments/s)", "settled (payments/s)")

    # y = x up to where it leaves the plot, labelled along its lower third (where the points of a
    # healthy run sit on it, the label is just above them).
    end = min(axes.xmax, axes.yhi)
    svg.line(axes.px(0), axes.py(0), axes.px(end), axes.py(end), REFERENCE, 1.25, "6 4", class_="reference")
    angle = math.degrees(math.atan2(axes.py(end) - axes.py(0), axes.px(end) - axes.px(0)))
    lx, ly = axes.px(end * 0.3), axes.py(end * 0.3)
    nx, ny = math.sin(math.radians(angle)) * 7, -math.cos(math.radians(angle)) * 7  # above the line
    svg.text(lx + nx, ly + ny, "offered = settled", anchor="middle", fill=REFERENCE, rotate=angle,
             class_="reference-label")

    legend = Legend(svg)
    labels = []  # closed-loop labels placed so far, to keep them apart
    for i, (name, rows) in enumerate(sweep):
        colour = PALETTE[i % len(PALETTE)]
        points = [(axes.px(r["offered"]), axes.py(r["settled_per_sec"]), r) for r in rows
                  if not r["closed"] and r["offered"] is not None and r["settled_per_sec"] is not None]
        if len(points) >= 2:
            svg.polyline([(x, y) for x, y, _ in points], colour, 2.0, class_="series-line", tip=name)
        for x, y, r in points:
            svg.marker(x, y, colour, False, throughput_tip(name, r))
        for r in rows:
            if r["closed"] and r["settled_per_sec"] is not None:
                s = r["settled_per_sec"]
                x, y = axes.px(s), axes.py(s)
                svg.marker(x, y, colour, True, throughput_tip(name, r))
                # Up and to the left of the diamond: above y = x, where no measured point can be.
                ty = y - 9
                while any(abs(ty - other) < 14 for other in labels):
                    ty -= 14
                labels.append(ty)
                svg.text(x - 9, max(ty, TOP + 12), "closed loop", anchor="end", fill=colour,
                         class_="closed-label")
        legend.entry(name, colour, marker="open")
    if any(r["closed"] for _, rows in sweep for r in rows):
        legend.entry("closed loop", REFERENCE, dash=None, marker="closed", gap=6)
    return svg.render()


def latency_chart(sweep, suffix):
    title = join_title("End-to-end latency against throughput", suffix)
    svg = Svg(title)
    columns = [c for c, _, _, _ in PERCENTILES]
    values = [r[c] for _, rows in sweep for r in rows for c in columns]
    xs = [r["settled_per_sec"] for _, rows in sweep for r in rows if r["settled_per_sec"] is not None]
    axes = Axes(linear_ticks(max(xs, default=0.0)), log_ticks(values + [TARGET_P99_MS]), ylog=True)
    axes.draw(svg, title, "settled (payments/s)", "end-to-end latency (ms, log scale)")

    y = axes.py(TARGET_P99_MS)
    svg.line(LEFT, y, LEFT + PLOT_W, y, REFERENCE, 1.25, "6 4", class_="reference")
    svg.text(LEFT + 6, y - 5, f"target p99 {figure(TARGET_P99_MS)} ms", fill=REFERENCE, class_="reference-label")

    legend = Legend(svg)
    for i, (name, rows) in enumerate(sweep):
        colour = PALETTE[i % len(PALETTE)]
        for column, label, dash, width in PERCENTILES:
            # In offered-rate order: past the knee, settled/s may fall back while latency climbs.
            points = [(axes.px(r["settled_per_sec"]), axes.py(r[column]), r) for r in rows
                      if not r["closed"] and r["settled_per_sec"] is not None and r[column]]
            if len(points) >= 2:
                svg.polyline([(x, y) for x, y, _ in points], colour, width, dash, class_=f"series-line {label}",
                             tip=f"{name} {label}")
            closed = [(axes.px(r["settled_per_sec"]), axes.py(r[column]), r) for r in rows
                      if r["closed"] and r["settled_per_sec"] is not None and r[column]]
            for x, y, r in points + closed:
                at = f"{label} {figure(r[column], ' ms')} at {figure(r['settled_per_sec'], ' settled/s')}"
                tip = marker_tip(name, r, at)
                svg.marker(x, y, colour, r["closed"], tip)
        legend.entry(name, colour, width=2.5)
    for n, (_, label, dash, width) in enumerate(PERCENTILES):
        legend.entry(label, REFERENCE, dash, width, gap=6 if n == 0 else 0)
    if any(r["closed"] for _, rows in sweep for r in rows):
        legend.entry("closed loop", REFERENCE, dash=None, marker="closed", gap=6)
    return svg.render()


def main(argv=None):
    parser = argparse.ArgumentParser(description="Draw a benchmark load sweep (TSV) as two SVG charts.")
    parser.add_argument("sweep", metavar="SWEEP.tsv", help="the sweep, one row per measured point")
    parser.add_argument("--out-dir", required=True, type=pathlib.Path,
                        help="where bench-throughput.svg and bench-latency.svg go (created if needed)")
    parser.add_argument("--title-suffix", default="",
                        help="appended to both titles after a space (directly when it starts with , ; : . or a space)")
    args = parser.parse_args(argv)
    try:
        sweep = read_sweep(args.sweep)
    except InputError as e:
        fail(str(e))
    charts = {"bench-throughput.svg": throughput_chart(sweep, args.title_suffix),
              "bench-latency.svg": latency_chart(sweep, args.title_suffix)}
    try:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        for name, text in charts.items():
            (args.out_dir / name).write_text(text, encoding="utf-8", newline="\n")
    except OSError as e:
        fail(f"cannot write to {args.out_dir}: {e.strerror}")
    points = sum(len(rows) for _, rows in sweep)
    print(f"bench_charts: {points} points of {len(sweep)} series -> "
          + ", ".join(str(args.out_dir / n) for n in charts))


if __name__ == "__main__":
    main()
