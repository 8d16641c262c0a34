#!/usr/bin/env python3
"""Tests of scripts/bench_charts.py (ctest `bench_charts`, label unit; standard library only).

Runs the script on a small synthetic sweep (two series, a closed-loop row, a row where nothing
settled) into a temporary directory and reads the SVGs back with xml.etree: titles, one line per
series and the y = x reference on the throughput chart, decade ticks and the 250 ms target on the
latency chart, hover text on every point, byte-identical output on a second run; and a header-only
file fails with a message.

    python3 scripts/bench_charts_test.py
"""
import math
import pathlib
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

SCRIPT = pathlib.Path(__file__).resolve().parent / "bench_charts.py"
NS = "{http://www.w3.org/2000/svg}"
HEADER = ("series\toffered_rate\tsettled_per_sec\tpost_p50_ms\tpost_p99_ms\t"
          "e2e_p50_ms\te2e_p95_ms\te2e_p99_ms\terrors\tunfinished\n")
ROWS = [
    "redis\t100\t100\t3\t9\t18\t29\t40\t0\t0",
    "redis\t300\t298\t4\t20\t30\t70\t120\t0\t0",
    "redis\t600\t520\t10\t120\t900\t2600\t4100\t0\t12",
    "redis\t900\t545\t60\t900\t7600\t15500\t20000\t3\t1240",
    "redis\tclosed\t548\t150\t420\t190\t260\t330\t0\t0",
    "kafka <&>\t100\t99.5\t3\t10\t24\t38\t55\t0\t0",  # a name that needs escaping
    "kafka <&>\t300\t290\t5\t40\t60\t210\t380\t0\t0",
    "kafka <&>\t600\t0\t0\t0\t0\t0\t0\t600\t0",  # nothing settled
]
SUFFIX = "(test)"


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True)


def classes(el):
    return el.get("class", "").split()


def texts(root, cls):
    return [el for el in root.iter(NS + "text") if cls in classes(el)]


def scale(ticks):
    """(pixel, value) pairs of an axis's tick labels -> a function pixel -> value (linear)."""
    (p0, v0), (p1, v1) = ticks[0], ticks[-1]
    return lambda p: v0 + (p - p0) * (v1 - v0) / (p1 - p0)


def tick_values(root, axis):
    """[(pixel, value)] of an axis's ticks: the tick marks' positions, their labels' numbers."""
    marks = [el for el in root.iter(NS + "line") if classes(el) == ["tick", axis]]
    labels = [el for el in texts(root, "tick-label") if axis in classes(el)]
    assert len(marks) == len(labels) > 1, (axis, len(marks), len(labels))
    return [(float(m.get(axis + "1")), float(el.text.replace(",", ""))) for m, el in zip(marks, labels)]


class BenchChartsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        tmp = pathlib.Path(cls.tmp.name)
        cls.tsv = tmp / "sweep.tsv"
        cls.tsv.write_text(HEADER + "\n".join(ROWS) + "\n")
        cls.out = tmp / "out"
        cls.done = run(cls.tsv, "--out-dir", cls.out, "--title-suffix", SUFFIX)
        if cls.done.returncode != 0:
            raise AssertionError(f"bench_charts.py failed:\n{cls.done.stdout}{cls.done.stderr}")
        cls.throughput = ET.parse(cls.out / "bench-throughput.svg").getroot()
        cls.latency = ET.parse(cls.out / "bench-latency.svg").getroot()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_both_charts_are_standalone_svg_with_their_titles(self):
        for root, title in ((self.throughput, "Throughput against offered rate"),
                            (self.latency, "End-to-end latency against throughput")):
            self.assertEqual(root.tag, NS + "svg")
            self.assertEqual(root.get("version"), "1.1")
            self.assertEqual((root.get("width"), root.get("height")), ("720", "420"))
            self.assertEqual(root.get("viewBox"), "0 0 720 420")
            self.assertEqual(root.find(NS + "title").text, f"{title} {SUFFIX}")
            self.assertEqual([el.text for el in texts(root, "chart-title")], [f"{title} {SUFFIX}"])
            self.assertEqual(root[1].tag, NS + "rect")  # the white background, first
            self.assertEqual(root[1].get("fill"), "#FFFFFF")
        for name in ("bench-throughput.svg", "bench-latency.svg"):
            raw = (self.out / name).read_text()
            self.assertNotIn("href", raw)  # no external references
            self.assertNotIn("url(", raw)
            self.assertIn("kafka &lt;&amp;&gt;", raw)

    def test_throughput_has_one_line_per_series_and_the_y_equals_x_reference(self):
        lines = [el for el in self.throughput.iter(NS + "polyline") if "series-line" in classes(el)]
        self.assertEqual([el.find(NS + "title").text for el in lines], ["redis", "kafka <&>"])
        self.assertEqual([len(el.get("points").split()) for el in lines], [4, 3])  # the zero row too
        x_of = scale(tick_values(self.throughput, "x"))
        y_of = scale(tick_values(self.throughput, "y"))
        refs = [el for el in self.throughput.iter(NS + "line") if "reference" in classes(el)]
        self.assertEqual(len(refs), 1)
        ref = refs[0]
        self.assertTrue(ref.get("stroke-dasharray"))
        start = (x_of(float(ref.get("x1"))), y_of(float(ref.get("y1"))))
        end = (x_of(float(ref.get("x2"))), y_of(float(ref.get("y2"))))
        self.assertAlmostEqual(start[0], 0, delta=1)
        self.assertAlmostEqual(start[1], 0, delta=1)
        self.assertGreater(end[0], 500)
        self.assertAlmostEqual(end[0], end[1], delta=1)
        self.assertEqual([el.text for el in texts(self.throughput, "reference-label")], ["offered = settled"])
        # The closed-loop row: a diamond on y = x at its settled rate, labelled.
        closed = [el for el in self.throughput.iter(NS + "polygon") if "closed" in classes(el)
                  and "point" in classes(el)]
        self.assertEqual(len(closed), 1)
        xs = [float(p.split(",")[0]) for p in closed[0].get("points").split()]
        self.assertAlmostEqual(x_of((min(xs) + max(xs)) / 2), 548, delta=1)
        self.assertEqual([el.text for el in texts(self.throughput, "closed-label")], ["closed loop"])
        self.assertIn("closed loop", closed[0].find(NS + "title").text)

    def test_latency_has_log_ticks_three_percentiles_per_series_and_the_target(self):
        ticks = tick_values(self.latency, "y")
        values = [v for _, v in ticks]
        self.assertEqual(values, [10.0, 100.0, 1000.0, 10000.0, 100000.0])  # data from 18 to 20,000 ms
        gaps = [b[0] - a[0] for a, b in zip(ticks, ticks[1:])]
        for gap in gaps:  # one decade, one distance
            self.assertAlmostEqual(gap, gaps[0], delta=0.02)
        self.assertLess(gaps[0], 0)  # upwards
        lines = [el for el in self.latency.iter(NS + "polyline") if "series-line" in classes(el)]
        self.assertEqual(sorted(el.find(NS + "title").text for el in lines),
                         sorted(f"{s} {p}" for s in ("redis", "kafka <&>") for p in ("p50", "p95", "p99")))
        redis = [el for el in lines if el.find(NS + "title").text.startswith("redis")]
        self.assertEqual(len({el.get("stroke") for el in redis}), 1)  # one colour per series
        self.assertEqual(len({(el.get("stroke-dasharray"), el.get("stroke-width")) for el in redis}), 3)
        # The target line at 250 ms on the log scale.
        (p10, _), (p100, _) = ticks[0], ticks[1]
        target = [el for el in self.latency.iter(NS + "line") if "reference" in classes(el)]
        self.assertEqual(len(target), 1)
        expected = p100 + (p100 - p10) * math.log10(2.5)
        self.assertAlmostEqual(float(target[0].get("y1")), expected, delta=0.05)
        self.assertEqual([el.text for el in texts(self.latency, "reference-label")], ["target p99 250 ms"])
        # Every positive latency is a point (three per row, the zero row none); the closed row's
        # are diamonds.
        points = [el for el in self.latency if "point" in classes(el)]
        self.assertEqual(len(points), 3 * (len(ROWS) - 1))
        self.assertEqual(sum(el.tag == NS + "polygon" for el in points), 3)

    def test_every_point_has_hover_text(self):
        for root in (self.throughput, self.latency):
            points = [el for el in root if "point" in classes(el)]
            self.assertTrue(points)
            for el in points:
                self.assertTrue(el.find(NS + "title").text.strip())
        tips = [el.find(NS + "title").text for el in self.throughput if "point" in classes(el)]
        self.assertIn("redis, offered 600/s: settled 520/s, e2e p99 4,100 ms, POST p99 120 ms, errors 0, "
                      "unfinished 12", tips)

    def test_the_same_input_gives_the_same_bytes(self):
        again = pathlib.Path(self.tmp.name) / "again"
        done = run(self.tsv, "--out-dir", again, "--title-suffix", SUFFIX)
        self.assertEqual(done.returncode, 0, done.stderr)
        for name in ("bench-throughput.svg", "bench-latency.svg"):
            self.assertEqual((again / name).read_bytes(), (self.out / name).read_bytes(), name)

    def test_a_file_without_data_rows_fails_with_a_message(self):
        empty = pathlib.Path(self.tmp.name) / "header-only.tsv"
        empty.write_text(HEADER)
        out = pathlib.Path(self.tmp.name) / "none"
        done = run(empty, "--out-dir", out)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("no data rows", done.stderr)
        self.assertFalse(out.exists())

    def test_bad_input_fails_with_the_line(self):
        bad = pathlib.Path(self.tmp.name) / "bad.tsv"
        bad.write_text(HEADER + "redis\t100\tlots\t1\t2\t3\t4\t5\t0\t0\n")
        done = run(bad, "--out-dir", pathlib.Path(self.tmp.name) / "bad")
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("bad.tsv:2: settled_per_sec is 'lots'", done.stderr)
        bad.write_text("series\toffered_rate\n")
        done = run(bad, "--out-dir", pathlib.Path(self.tmp.name) / "bad")
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("the header lacks settled_per_sec", done.stderr)


if __name__ == "__main__":
    unittest.main()
