"""Charts render to well-formed, fixed-size, deterministic SVG and PNG."""

import io
import struct
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from PIL import Image

from scorecard_api.charts import (
    HEIGHT,
    PNG_TYPE,
    SVG_TYPE,
    WIDTH,
    ChartFormat,
    TrendPoint,
    bar_chart,
    trend_chart,
)

SVG_NS = "{http://www.w3.org/2000/svg}"
MONTH_ENDS = [date(2017, 1, 31), date(2017, 2, 28), date(2017, 3, 31), date(2017, 4, 30)]
POINTS = [TrendPoint(on, v) for on, v in zip(MONTH_ENDS, [62.5, 70.0, None, 88.0], strict=True)]
THEMES = [("Billing and invoicing errors over several months", 12), ("Delay", 3), ("Other", 0)]


def _trend(fmt: ChartFormat = ChartFormat.svg, target: float | None = 80.0, **kw) -> bytes:
    args = {"title": "Disputes resolved in time", "points": POINTS, "y_label": "% resolved"}
    return trend_chart(**{**args, **kw}, target=target, fmt=fmt)


def _bars(fmt: ChartFormat = ChartFormat.svg, **kw) -> bytes:
    args = {"title": "Disputes by theme", "bars": THEMES, "x_label": "Theme", "y_label": "Disputes"}
    return bar_chart(**{**args, **kw}, fmt=fmt)


def _svg(data: bytes) -> ET.Element:
    # Trusted input: our own renderer wrote it. Raises if the SVG is not well-formed.
    return ET.fromstring(data)  # noqa: S314


def _texts(data: bytes) -> list[str]:
    return ["".join(t.itertext()) for t in _svg(data).iter(f"{SVG_NS}text")]


def _ids(data: bytes) -> list[str]:
    return [el.get("id") for el in _svg(data).iter() if el.get("id") is not None]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_content_types_match_the_formats() -> None:
    assert (SVG_TYPE, PNG_TYPE) == ("image/svg+xml", "image/png")
    assert (WIDTH, HEIGHT) == (800, 400)


@pytest.mark.parametrize("render", [_trend, _bars])
def test_svg_is_8_by_4_inches_with_a_viewbox(render) -> None:
    root = _svg(render())
    assert root.tag == f"{SVG_NS}svg"
    assert (root.get("width"), root.get("height")) == ("576pt", "288pt")
    assert root.get("viewBox") == "0 0 576 288"


def test_trend_svg_keeps_title_axis_labels_and_month_ticks_as_text() -> None:
    texts = _texts(_trend())
    assert {"Disputes resolved in time", "Month end", "% resolved"} <= set(texts)
    assert "Jan 2017" in texts
    assert "Mar 2017" in texts


def test_svg_text_uses_dejavu_sans() -> None:
    text = next(_svg(_trend()).iter(f"{SVG_NS}text"))
    assert "DejaVu Sans" in text.get("style", "")


def test_target_draws_a_line_with_a_legend_entry() -> None:
    svg = _trend(target=80.0)
    assert _ids(svg).count("target-line") == 1
    assert "Target (80)" in _texts(svg)


def test_no_target_means_no_target_line_or_legend() -> None:
    svg = _trend(target=None)
    assert "target-line" not in _ids(svg)
    assert not any(t.startswith("Target") for t in _texts(svg))


def test_trend_svg_has_the_kpi_line() -> None:
    assert _ids(_trend()).count("kpi-line") == 1


def test_percentages_run_from_0_to_100() -> None:
    texts = _texts(_trend(points=[TrendPoint(MONTH_ENDS[0], 40.0)], target=None))
    assert {"0", "100"} <= set(texts)
    assert "120" not in texts


def test_counts_get_integer_ticks() -> None:
    points = [TrendPoint(on, v) for on, v in zip(MONTH_ENDS, [1, 2, 3, 2], strict=True)]
    texts = _texts(_trend(points=points, target=None, y_label="Disputes"))
    assert "2" in texts
    assert not any("." in t for t in texts)


@pytest.mark.parametrize("fmt", list(ChartFormat))
def test_gaps_in_the_line_do_not_crash(fmt: ChartFormat) -> None:
    points = [TrendPoint(on, None if i % 2 else 50.0) for i, on in enumerate(MONTH_ENDS)]
    assert _trend(fmt, points=points)


def test_a_trend_with_no_values_says_no_data() -> None:
    points = [TrendPoint(on, None) for on in MONTH_ENDS]
    assert "No data" in _texts(_trend(points=points))
    assert "No data" in _texts(_trend(points=[]))


@pytest.mark.parametrize("render", [_trend, _bars])
def test_png_is_exactly_800_by_400(render) -> None:
    png = render(ChartFormat.png)
    assert _png_size(png) == (WIDTH, HEIGHT)
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.size == (WIDTH, HEIGHT)
        assert image.mode == "RGBA"


@pytest.mark.parametrize("fmt", list(ChartFormat))
@pytest.mark.parametrize("render", [_trend, _bars])
def test_same_input_gives_identical_bytes(render, fmt: ChartFormat) -> None:
    assert render(fmt) == render(fmt)


def test_concurrent_renders_match_serial_ones() -> None:
    jobs = [(_trend, ChartFormat.svg), (_bars, ChartFormat.svg), (_trend, ChartFormat.png)] * 2
    serial = [render(fmt) for render, fmt in jobs]
    with ThreadPoolExecutor(max_workers=6) as pool:
        concurrent = list(pool.map(lambda job: job[0](job[1]), jobs))
    assert concurrent == serial


def test_markup_and_dollars_in_a_title_stay_literal() -> None:
    title = "$x$ & <b>"
    assert title in _texts(_trend(title=title))
    assert title in _texts(_bars(title=title))


def test_bar_chart_has_labels_values_and_one_bars_group() -> None:
    svg = _bars()
    texts = _texts(svg)
    assert {"Disputes by theme", "Theme", "Disputes", "Delay", "12", "3"} <= set(texts)
    assert _ids(svg).count("bars") == 1


def test_long_bar_labels_wrap_and_dollars_stay_literal() -> None:
    texts = _texts(_bars(bars=[("Charges of $5 on " + "very " * 20 + "long label", 2)]))
    assert "Charges of $5 on very very" in texts  # first wrapped line
    assert any(t.endswith("…") for t in texts)  # cut after two lines


def test_empty_bar_chart_says_no_data() -> None:
    svg = _bars(bars=[])
    assert "No data" in _texts(svg)
    assert "bars" not in _ids(svg)
    assert _png_size(_bars(ChartFormat.png, bars=[])) == (WIDTH, HEIGHT)
