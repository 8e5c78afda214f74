"""Small server-drawn charts (SVG coordinates), so pages need no chart script."""

from decimal import Decimal


def sparkline_points(values: list[Decimal], width: int = 280, height: int = 48) -> str:
    """SVG polyline points for values, scaled into width × height (highest value at the top)."""
    if len(values) < 2:
        return ""
    top = max(values) or Decimal(1)
    step = Decimal(width) / (len(values) - 1)
    return " ".join(f"{step * i:.1f},{height - (value / top) * (height - 4) - 2:.1f}" for i, value in enumerate(values))
