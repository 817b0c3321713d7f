"""The schematic map of a plan: halls and schools placed by their coordinates, drawn as inline SVG.

No map tiles and nothing fetched from the internet: an equirectangular projection of the plan's
own coordinates, scaled to fit. Halls are circles sized by the seats they use, schools are dots,
and a line joins each school to its hall.
"""

import math

WIDTH, HEIGHT, MAX_HEIGHT, PAD = 760, 420, 900, 34


def _project(points: list[tuple[float, float]]):
    """A function (lat, lon) → (x, y) fitting ``points`` into the drawing, north up.

    The drawing's height follows the area's shape (a tall district gets a tall map), within bounds.
    """
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    mid = math.radians((min(lats) + max(lats)) / 2)
    xs = [lon * math.cos(mid) for lon in lons]
    span_x = max(max(xs) - min(xs), 1e-4)
    span_y = max(max(lats) - min(lats), 1e-4)
    height = round(min(MAX_HEIGHT, max(HEIGHT, (WIDTH - 2 * PAD) * span_y / span_x + 2 * PAD)))
    scale = min((WIDTH - 2 * PAD) / span_x, (height - 2 * PAD) / span_y)
    x0 = min(xs) - ((WIDTH - 2 * PAD) / scale - span_x) / 2
    y1 = max(lats) + ((height - 2 * PAD) / scale - span_y) / 2

    def project(lat: float, lon: float) -> tuple[float, float]:
        return (round(PAD + (lon * math.cos(mid) - x0) * scale, 1), round(PAD + (y1 - lat) * scale, 1))

    return project, scale, height


def plan_map(comparison: dict) -> dict | None:
    """Geometry for the proposal's map, from :func:`planning.compare`'s rows and seat table."""
    rows = [r for r in comparison["rows"] if r["institution"].latitude is not None and r["hall"].lat is not None]
    seat_rows = [s for s in comparison["seats"] if s["opened"] and s["hall"].lat is not None]
    if not rows:
        return None
    coords = [(float(r["institution"].latitude), float(r["institution"].longitude)) for r in rows]
    coords += [(s["hall"].lat, s["hall"].lon) for s in seat_rows]
    project, scale, height = _project(coords)
    top_load = max([s["proposed"] for s in seat_rows] + [1])
    top_size = max([r["size"] for r in rows] + [1])
    number = {s["hall"].pk: n for n, s in enumerate(sorted(seat_rows, key=lambda s: (-s["hall"].lat,
                                                                                      s["hall"].lon)), start=1)}
    halls = []
    for s in seat_rows:
        x, y = project(s["hall"].lat, s["hall"].lon)
        halls.append({"x": x, "y": y, "r": round(7 + 15 * math.sqrt(s["proposed"] / top_load), 1),
                      "n": number[s["hall"].pk], "name": s["hall"].unit.name, "load": s["proposed"],
                      "capacity": s["capacity"], "full": s["proposed"] >= 0.95 * s["capacity"]})
    position = {s["hall"].pk: project(s["hall"].lat, s["hall"].lon) for s in seat_rows}
    schools, lines = [], []
    for r in rows:
        x, y = project(float(r["institution"].latitude), float(r["institution"].longitude))
        schools.append({"x": x, "y": y, "r": round(2.5 + 3.5 * math.sqrt(r["size"] / top_size), 1),
                        "name": r["institution"].name, "moved": r["status"] == "moved"})
        hx, hy = position.get(r["hall"].pk, (x, y))
        lines.append({"x1": x, "y1": y, "x2": hx, "y2": hy, "moved": r["status"] == "moved"})
    # A scale bar of a round number of km, about a fifth of the width.
    km_per_px = 111.32 / scale
    bar_km = next(k for k in (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000) if k / km_per_px > WIDTH / 8)
    return {"width": WIDTH, "height": height, "halls": halls, "schools": schools, "lines": lines,
            "bar_km": bar_km, "bar_px": round(bar_km / km_per_px, 1), "number": number}
