"""The synthetic tree and its people as plain records (:class:`Node`), generated from
``(seed, unit code)``: the same seed gives the same names, codes and phones in any order of
generation, and Ba Vì is the same in both sizes. The reference tables are in
:mod:`diemcau.demo.org_reference`; writing the records is :mod:`diemcau.demo.org_writer`'s.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from diemcau.orgs import admin_data
from diemcau.orgs.models import Unit

from .org_reference import (
    _FAMILY,
    _FAMILY_CUM,
    _FOLD,
    BA_VI,
    BA_VI_COMMUNES,
    BA_VI_OTHERS,
    BA_VI_PEOPLE,
    BA_VI_SIZES,
    BA_VI_TWO_PRIMARY,
    CAPITALS,
    DEMO_HANOI_SCHOOLS,
    DISTRICT_CENTRES,
    FEMALE_SHARE,
    GIVEN_F,
    GIVEN_M,
    HANOI,
    HANOI_DISTRICTS,
    MANAGEMENT,
    MANAGER_SHARE,
    MIDDLE_F,
    MIDDLE_M,
    OFFICE_STAFF,
    PHONE_PREFIXES,
    PRESCHOOL_STAFF,
    PRIMARY_TEACHERS,
    PROVINCES_2023,
    SCHOOL_STAFF,
    SOC_SON,
    STAFF,
    STAFF_SHARE,
    STYLES,
    SUBJECTS,
    TEACHER,
    THACH_THAT,
    TITLES,
    UNIVERSITIES,
    UNIVERSITY_STAFF,
)


def _rng(seed: int, *parts) -> random.Random:
    # A string seed is hashed with SHA-512: stable across runs and machines (unlike hash()).
    return random.Random(":".join(str(p) for p in (seed, *parts)))


# --- the plan: units as plain records ---------------------------------------------------------
@dataclass(slots=True)
class Node:
    """One unit to create, with how many people of each category it will have."""

    code: str
    name: str
    kind: str
    short_name: str = ""
    style: str = ""
    levels: int = 0
    commune: str = ""
    address: str = ""
    lat: float | None = None
    lon: float | None = None
    managers: int = 0
    deputies: int = 0
    teachers: int = 0
    staff: int = 0
    children: list["Node"] = field(default_factory=list)

    @property
    def people(self) -> int:
        return self.managers + self.teachers + self.staff

    def walk(self) -> Iterator["Node"]:
        """This node and every node below it, parents before children."""
        yield self
        for child in self.children:
            yield from child.walk()


def _staffing(node: Node, total: int) -> Node:
    """Split ``total`` people into managers, teachers and staff (≈ 8 / 75 / 17 %)."""
    if node.style == "office":
        node.deputies = 2
        node.managers = 3
        node.staff = total - 3
        return node
    # The board is the head and one or two deputies; heads of subject groups make up the rest.
    node.deputies = 1 if total < 35 else 2
    node.managers = max(1 + node.deputies, round(total * MANAGER_SHARE))
    node.staff = max(1, round(total * STAFF_SHARE))
    node.teachers = total - node.managers - node.staff
    return node


def _size(rng: random.Random, spec: tuple[int, int, int]) -> int:
    mean, spread, floor = spec
    return max(floor, round(rng.gauss(mean, spread)))


def _jitter(rng: random.Random, lat: float, lon: float, spread: float) -> tuple[float, float]:
    return (min(23.39, max(8.56, lat + rng.uniform(-spread, spread))),
            min(109.46, max(102.14, lon + rng.uniform(-spread, spread))))


def _institution(rng, code, style, place, *, commune="", address="", centre=(None, None), suffix="",
                 spread=0.012, sizes=None) -> Node:
    prefix, short_prefix, levels, size_spec = STYLES[style]
    lat, lon = centre
    if lat is not None:
        lat, lon = _jitter(rng, lat, lon, spread)
    node = Node(code=code, name=f"{prefix} {place}{suffix}", short_name=f"{short_prefix} {place}{suffix}",
                kind=Unit.Kind.INSTITUTION, style=style, levels=levels, commune=commune, address=address,
                lat=lat, lon=lon)
    return _staffing(node, _size(rng, (sizes or {}).get(style, size_spec)))


def _province(code: int):
    return next(p for p in PROVINCES_2023 if p[0] == code)


def _place(province) -> tuple[str, str]:
    """How a 2023 province is named after "Sở GD&ĐT": (full, short)."""
    if province[0] == 79:  # the bare name is also a person's
        return "Thành phố Hồ Chí Minh", "TP. Hồ Chí Minh"
    return province[1], province[1]


def _address_tail(province) -> str:
    if province[0] == 79:
        return "Thành phố Hồ Chí Minh"
    return f"{'thành phố' if province[2] else 'tỉnh'} {province[1]}"


def _cap(text: str) -> str:
    # str.capitalize() would lower-case the rest: "thành phố Hà Nội" → "Thành phố hà nội".
    return text[:1].upper() + text[1:]


def department_code(province_code: int) -> str:
    return f"SGD{province_code:02d}"


def district_code(province_code: int, number: int) -> str:
    return f"PGD{province_code:02d}{number:03d}"


BA_VI_CODE = district_code(HANOI, BA_VI)
DEPARTMENT_CODES = [department_code(p[0]) for p in PROVINCES_2023]
UNIVERSITY_CODES = [u[0] for u in UNIVERSITIES]


def departments() -> list[Node]:
    """The 63 departments of 2023 (no children)."""
    nodes = []
    for p in PROVINCES_2023:
        full, short = _place(p)
        nodes.append(Node(code=department_code(p[0]), name=f"Sở Giáo dục và Đào tạo {full}",
                          short_name=f"Sở GD&ĐT {short}", kind=Unit.Kind.DEPARTMENT, style="department",
                          address=_cap(_address_tail(p)), lat=p[3], lon=p[4]))
    return nodes


def _office(province, number: int, kind_word: str, name: str, centre) -> Node:
    node = Node(code=district_code(province[0], number),
                name=f"Phòng Giáo dục và Đào tạo {kind_word} {name}", short_name=f"Phòng GD&ĐT {name}",
                kind=Unit.Kind.DISTRICT_OFFICE, style="office",
                address=f"{_cap(kind_word)} {name}, {_address_tail(province)}",
                lat=centre[0], lon=centre[1])
    return node


def ba_vi(seed: int) -> Node:
    """Phòng GD&ĐT huyện Ba Vì and its institutions, the same in both sizes."""
    rng = _rng(seed, "district", BA_VI_CODE)
    hanoi = _province(HANOI)
    office = _staffing(_office(hanoi, BA_VI, "huyện", "Ba Vì", DISTRICT_CENTRES[BA_VI]), 15)
    office.commune = "Thị trấn Tây Đằng"
    communes = {name: (kind, lat, lon) for name, kind, lat, lon in BA_VI_COMMUNES}
    schools = []

    def add(style, place, commune, suffix=""):
        kind, lat, lon = communes[commune]
        code = f"{HANOI:02d}{BA_VI:03d}{len(schools) + 1:03d}"
        schools.append(_institution(
            rng, code, style, place, suffix=suffix, commune=f"{kind} {commune}",
            address=f"{kind} {commune}, huyện Ba Vì, thành phố Hà Nội", centre=(lat, lon), sizes=BA_VI_SIZES,
        ))

    for name, *_rest in BA_VI_COMMUNES:
        add("preschool", name, name)
    for name, *_rest in BA_VI_COMMUNES:
        for suffix in (" A", " B") if name in BA_VI_TWO_PRIMARY else ("",):
            add("primary", name, name, suffix)
    for name, *_rest in BA_VI_COMMUNES:
        add("lower", name, name)
    for full, short, style, commune in BA_VI_OTHERS:
        add(style, "", commune)
        schools[-1].name, schools[-1].short_name = full, short
    _scale_people(schools, BA_VI_PEOPLE)
    office.children = schools
    return office


def _scale_people(nodes: list[Node], target: int):
    """Rescale the nodes' sizes so that they add up to exactly ``target`` people."""
    raw = [n.people for n in nodes]
    factor = target / sum(raw)
    sizes = [max(8, round(r * factor)) for r in raw]
    sizes[sizes.index(max(sizes))] += target - sum(sizes)
    for node, size in zip(nodes, sizes, strict=True):
        _staffing(node, size)


def _demo_district(seed: int, number: int) -> Node:
    hanoi = _province(HANOI)
    kind_word, name = next((k, n) for c, k, n in HANOI_DISTRICTS if c == number)
    rng = _rng(seed, "district", district_code(HANOI, number))
    centre = DISTRICT_CENTRES[number]
    office = _office(hanoi, number, kind_word, name, centre)
    for i, (place, style) in enumerate(DEMO_HANOI_SCHOOLS[number], start=1):
        office.children.append(_institution(
            rng, f"{HANOI:02d}{number:03d}{i:03d}", style, place, commune=f"Xã {place}",
            address=f"{_cap(kind_word)} {name}, thành phố Hà Nội", centre=centre, spread=0.05,
        ))
    return office


def _commune_pool(province_2025: int) -> list[tuple[str, str]]:
    """Today's communes of the province that absorbed a 2023 province: (full name, bare name)."""
    pool = _COMMUNES.get(province_2025)
    if pool is None:
        for p in admin_data.official_divisions():
            names = []
            for w in p["wards"]:
                bare = w["name"]
                for prefix in ("Xã ", "Phường ", "Đặc khu "):
                    if bare.startswith(prefix):
                        bare = bare[len(prefix):]
                names.append((w["name"], bare))
            _COMMUNES[p["code"]] = names
        pool = _COMMUNES[province_2025]
    return pool


_COMMUNES: dict[int, list[tuple[str, str]]] = {}


def _national_district(seed: int, province, number: int, kind_word: str, name: str, centre) -> Node:
    """A synthetic district office with ~61 institutions named after real communes of its region."""
    code = district_code(province[0], number)
    rng = _rng(seed, "district", code)
    office = _staffing(_office(province, number, kind_word, name, centre), _size(rng, STYLES["office"][3]))
    communes = rng.sample(_commune_pool(province[6]), rng.randint(11, 27))
    tail = f"{kind_word} {name}, {_address_tail(province)}"
    schools = office.children

    def add(style, place, commune=""):
        c_lat, c_lon = centre
        schools.append(_institution(
            rng, f"{province[0]:02d}{number:03d}{len(schools) + 1:03d}", style, place, commune=commune,
            address=f"{commune}, {tail}" if commune else _cap(tail), centre=(c_lat, c_lon), spread=0.06,
        ))

    for style in ("preschool", "primary", "lower"):
        for full, bare in communes:
            add(style, bare, full)
    for i in range(max(1, round(len(communes) * rng.uniform(0.1, 0.22)))):
        if i == 0:
            add("upper", name)
        else:
            full, bare = communes[i]
            add("upper", bare, full)
    add("continuing", "", "")
    schools[-1].name = f"Trung tâm GDNN-GDTX {kind_word} {name}"
    schools[-1].short_name = f"TT GDNN-GDTX {name}"
    return office


def _national_districts(seed: int, province) -> list[tuple[int, str, str]]:
    """The province's district-level units: (number, kind word, name), Hà Nội's real, others synthetic."""
    if province[0] == HANOI:
        return [(c, k, n) for c, k, n in HANOI_DISTRICTS]
    rng = _rng(seed, "districts", province[0])
    code, name, city, count = province[0], province[1], province[2], province[5]
    # A province's first office is its capital's; a centrally-run city has none but Thủ Đức.
    has_capital = not city or code in CAPITALS
    names = [bare for _full, bare in rng.sample(_commune_pool(province[6]), count - has_capital)]
    result = [(1, "thành phố", CAPITALS.get(code, name))] if has_capital else []
    for i, place in enumerate(names, start=len(result) + 1):
        if city:
            kind_word = "quận" if i <= count // 2 + 1 else "huyện"
        else:
            kind_word = "thị xã" if i == 2 else "huyện"
        result.append((i, kind_word, place))
    return result


def department_subtree(seed: int, size: str, province, scale: float = 1.0) -> list[Node]:
    """The district offices (with their institutions) under one department."""
    if size == "demo":
        if province[0] != HANOI:
            return []
        return [ba_vi(seed), _demo_district(seed, SOC_SON), _demo_district(seed, THACH_THAT)]
    offices = []
    for number, kind_word, name in _national_districts(seed, province):
        code = district_code(province[0], number)
        if province[0] == HANOI and number == BA_VI:
            offices.append(ba_vi(seed))
            continue
        # A fraction of the country for quick runs: each district is in or out by its own draw.
        if scale < 1.0 and _rng(seed, "scale", code).random() >= scale:
            continue
        rng = _rng(seed, "centre", code)
        centre = DISTRICT_CENTRES.get(number) if province[0] == HANOI else None
        centre = centre or _jitter(rng, province[3], province[4], 0.35)
        offices.append(_national_district(seed, province, number, kind_word, name, centre))
    return offices


def universities(seed: int) -> list[Node]:
    nodes = []
    for code, name, short, style, lat, lon, address in UNIVERSITIES:
        rng = _rng(seed, "unit", code)
        nodes.append(_staffing(
            Node(code=code, name=name, short_name=short, kind=Unit.Kind.INSTITUTION, style=style,
                 levels=STYLES[style][2], address=address, lat=lat, lon=lon),
            _size(rng, STYLES[style][3]),
        ))
    return nodes


def people_of(seed: int, node: Node) -> list[tuple]:
    """The node's people: (code, full name, name_search, category, position, phone), in a fixed order.

    The head comes first (code ...-0001), then the deputies, the other managers, teachers, staff.
    """
    return [row[1:] for row in _people_rows(seed, node, None)]


def _pairs(middles, givens):
    # Middle and given name drawn together: one draw instead of two, the same distribution.
    return [(f" {m} {g}", f" {_FOLD[m]} {_FOLD[g]}") for m in middles for g in givens]


_FEMALE_PAIRS, _MALE_PAIRS = _pairs(MIDDLE_F, GIVEN_F), _pairs(MIDDLE_M, GIVEN_M)
_FAMILY_FOLDED = {f: _FOLD[f] for f in _FAMILY}
_SEQ = [f"-{i:04d}" for i in range(10000)]


def _people_rows(seed: int, node: Node, unit_id) -> list[tuple]:
    """The rows written for the node's people: ``people_of`` with the unit id in front.

    The hot loop of the national load (1.6 million rows): one pass per category, table lookups
    rather than formatting.
    """
    n = node.people
    if not n:
        return []
    rng = _rng(seed, "people", node.code)
    rand = rng.random
    female_share = FEMALE_SHARE.get(node.style, 0.7)
    families = rng.choices(_FAMILY, cum_weights=_FAMILY_CUM, k=n)
    fp, mp, nf, nm = _FEMALE_PAIRS, _MALE_PAIRS, len(_FEMALE_PAIRS), len(_MALE_PAIRS)
    prefixes, n_prefixes = PHONE_PREFIXES, len(PHONE_PREFIXES)
    folded, seq, code = _FAMILY_FOLDED, _SEQ, node.code
    head, deputy, other = TITLES.get(node.style, TITLES["school"])
    teacher_titles, staff_titles = _titles(node.style)
    positions = [head, *[deputy] * node.deputies, *[other] * (node.managers - 1 - node.deputies)]
    positions += [teacher_titles[int(rand() * len(teacher_titles))] for _ in range(node.teachers)]
    positions += [staff_titles[int(rand() * len(staff_titles))] for _ in range(node.staff)]
    categories = [MANAGEMENT] * node.managers + [TEACHER] * node.teachers + [STAFF] * node.staff
    rows = []
    append = rows.append
    for i in range(n):
        pair = fp[int(rand() * nf)] if rand() < female_share else mp[int(rand() * nm)]
        family = families[i]
        append((
            unit_id, code + seq[i + 1], family + pair[0], folded[family] + pair[1], categories[i], positions[i],
            prefixes[int(rand() * n_prefixes)] + str(int(rand() * 10_000_000)).zfill(7),
        ))
    return rows


_SECONDARY_TEACHERS = [f"Giáo viên {s}" for s in SUBJECTS]


def _titles(style: str) -> tuple[list[str], list[str]]:
    """Positions to draw from for a unit's teachers and its staff."""
    if style == "preschool":
        return ["Giáo viên mầm non"], PRESCHOOL_STAFF
    if style == "primary":
        return PRIMARY_TEACHERS, SCHOOL_STAFF
    if style in ("lower", "upper", "specialised"):
        return _SECONDARY_TEACHERS, SCHOOL_STAFF
    if style in ("university", "college"):
        return ["Giảng viên"], UNIVERSITY_STAFF
    if style == "office":
        return ["Chuyên viên"], OFFICE_STAFF
    return ["Giáo viên"], SCHOOL_STAFF
