"""A metric's 12-week trend as a small line chart (flet-charts; its controls are part of the
prebuilt web client). Weeks without data leave a gap instead of drawing a false zero."""

from __future__ import annotations

from datetime import date

import flet as ft
import flet_charts as fch


def trend_chart(points: tuple[tuple[date, float | None], ...], *, unit: str) -> ft.Control:
    """`unit`: "rate" (0 to 100%), "days", "padding" (days, may be below 0) or "lines"."""
    values = [v for _, v in points if v is not None]
    is_rate = unit == "rate"
    top = 1.0 if is_rate else max([*values, 1.0]) * 1.15
    bottom = min([*values, 0.0]) * 1.15  # padding can be negative: a promise shorter than the wait
    series = []
    run: list[fch.LineChartDataPoint] = []
    for x, (week, value) in enumerate(points):
        if value is None:  # a gap: close the run drawn so far
            if run:
                series.append(run)
            run = []
            continue
        run.append(
            fch.LineChartDataPoint(
                x=x, y=value, tooltip=f"week of {week:%d %b}: {_word(value, unit)}"
            )
        )
    if run:
        series.append(run)
    labels = [
        fch.ChartAxisLabel(value=i, label=ft.Text(f"{points[i][0]:%d %b}", size=9))
        for i in (0, len(points) // 2, len(points) - 1)
        if points
    ]
    chart = fch.LineChart(
        data_series=[
            fch.LineChartData(
                points=run,
                color=ft.Colors.PRIMARY,
                stroke_width=2,
                curved=False,
                point=fch.ChartCirclePoint(radius=2.5, color=ft.Colors.PRIMARY),
                below_line_bgcolor=ft.Colors.with_opacity(0.12, ft.Colors.PRIMARY),
            )
            for run in series
        ],
        min_x=0,
        max_x=max(len(points) - 1, 1),
        min_y=bottom,
        max_y=top,
        left_axis=fch.ChartAxis(
            label_size=34, show_labels=True, labels=_y_labels(bottom, top, unit)
        ),
        bottom_axis=fch.ChartAxis(labels=labels, label_size=18),
        horizontal_grid_lines=fch.ChartGridLines(
            interval=(top - bottom) / 2, color=ft.Colors.OUTLINE_VARIANT, width=0.5
        ),
        interactive=True,
        height=110,
        expand=False,
    )
    # Room on the right for the last week's label.
    return ft.Container(chart, padding=ft.Padding.only(right=18, top=4))


def _word(value: float, unit: str) -> str:
    if unit == "rate":
        return f"{value * 100:.1f}%"
    if unit == "lines":
        return f"{value:.0f}"
    return f"{value:+.1f} d" if unit == "padding" else f"{value:.1f} d"


def _y_labels(bottom: float, top: float, unit: str) -> list[fch.ChartAxisLabel]:
    out = []
    for value in (bottom, (bottom + top) / 2, top):
        if unit == "rate":
            text = f"{value * 100:.0f}%"
        elif unit == "lines":
            text = f"{value:.0f}"
        else:
            text = f"{value:.0f}d"
        out.append(fch.ChartAxisLabel(value=value, label=ft.Text(text, size=9)))
    return out
