"""The columns of the units and people sheets, the words a sheet may use, and reading and writing cell values.

A file's columns and values are Vietnamese whatever the interface language, since officials
exchange these sheets; the cells an export writes are what an import reads.
"""

import decimal
import re
from functools import lru_cache

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from diemcau.core.errors import DomainError
from diemcau.core.excel import Column
from diemcau.core.vntext import fold

from . import services
from .models import EducationLevel, ImportBatch, Person, Unit

# --- the columns ------------------------------------------------------------------------------
UNIT_COLUMNS = [
    Column("code", "Mã đơn vị", ("ma dv", "ma", "ma so", "code", "unit code"), required=True),
    Column("name", "Tên đơn vị", ("ten dv", "ten", "ten truong", "name", "unit name"), required=True),
    Column("kind", "Loại đơn vị", ("loai", "loai hinh", "loai dv", "kind"), required=True),
    Column("parent_code", "Mã đơn vị cấp trên", ("ma cap tren", "ma don vi cha", "ma dv cap tren",
                                                  "ma don vi quan ly", "parent code", "parent")),
    Column("short_name", "Tên viết tắt", ("viet tat", "ten tat", "short name")),
    Column("levels", "Cấp học", ("cap", "bac hoc", "levels", "levels of education")),
    Column("commune", "Xã/phường", ("xa phuong", "xa, phuong", "xa/phuong/thi tran", "xa", "phuong",
                                    "commune")),
    Column("address", "Địa chỉ", ("dia chi truong", "address")),
    Column("latitude", "Vĩ độ", ("lat", "latitude")),
    Column("longitude", "Kinh độ", ("lng", "lon", "long", "longitude")),
    Column("managers_count", "Số CBQL", ("cbql", "so can bo quan ly", "can bo quan ly", "managers")),
    Column("teachers_count", "Số giáo viên", ("so gv", "giao vien", "gv", "teachers")),
    Column("staff_count", "Số nhân viên", ("so nv", "nhan vien", "nv", "staff")),
]
PEOPLE_COLUMNS = [
    Column("code", "Mã cá nhân", ("ma cb", "ma can bo", "ma nhan su", "ma dinh danh", "ma", "personal code",
                                  "code"), required=True),
    Column("full_name", "Họ và tên", ("ho ten", "ho va ten", "ten", "full name", "name"), required=True),
    Column("unit_code", "Mã đơn vị", ("ma dv", "ma truong", "unit code", "unit"), required=True),
    Column("category", "Nhóm", ("phan loai", "doi tuong", "nhom doi tuong", "category"), required=True),
    Column("position", "Chức vụ", ("chuc danh", "position")),
    Column("phone", "Điện thoại", ("so dien thoai", "sdt", "dt", "dien thoai di dong", "phone")),
    Column("email", "Email", ("e-mail", "thu dien tu", "dia chi email")),
]
COLUMNS = {ImportBatch.Kind.UNITS: UNIT_COLUMNS, ImportBatch.Kind.PEOPLE: PEOPLE_COLUMNS}

COLUMN_HELP = {
    "code": gettext_lazy("Unique code. Leading zeros are kept."),
    "name": gettext_lazy("Full name of the unit."),
    "kind": gettext_lazy("Bộ, Sở Giáo dục và Đào tạo, Phòng Giáo dục và Đào tạo, Cơ sở giáo dục, "
                         "or any other kind in your own words."),
    "parent_code": gettext_lazy("Code of the unit directly above. Empty keeps an existing unit where it "
                                "is; only national organisers create top-level units."),
    "levels": gettext_lazy("Levels of education separated by , or ; (Mầm non; Tiểu học; THCS; THPT; "
                           "GDTX...)."),
    "latitude": gettext_lazy("Decimal degrees, e.g. 21.0285."),
    "longitude": gettext_lazy("Decimal degrees, e.g. 105.8542."),
    "managers_count": gettext_lazy("Whole number."),
    "teachers_count": gettext_lazy("Whole number."),
    "staff_count": gettext_lazy("Whole number."),
    "full_name": gettext_lazy("Full name of the person."),
    "unit_code": gettext_lazy("Code of the unit the person belongs to, inside your part of the tree."),
    "category": gettext_lazy("Ban giám hiệu, Giáo viên or Nhân viên."),
    "phone": gettext_lazy("A 9-digit number that lost its leading 0 in Excel gets it back."),
}

# --- the words a sheet uses --------------------------------------------------------------------
KIND_WORDS = {
    Unit.Kind.MINISTRY: "Bộ",
    Unit.Kind.DEPARTMENT: "Sở Giáo dục và Đào tạo",
    Unit.Kind.DISTRICT_OFFICE: "Phòng Giáo dục và Đào tạo",
    Unit.Kind.INSTITUTION: "Cơ sở giáo dục",
    Unit.Kind.OTHER: "Đơn vị khác",
}
KIND_ALIASES = {  # folded
    Unit.Kind.MINISTRY: ("bo", "bo giao duc va dao tao", "bo gd&dt", "bo gddt", "bo gd-dt"),
    Unit.Kind.DEPARTMENT: ("so", "so giao duc va dao tao", "so gd&dt", "so gddt", "so gd-dt", "so gd"),
    Unit.Kind.DISTRICT_OFFICE: ("phong", "phong giao duc va dao tao", "phong gd&dt", "phong gddt",
                                "phong gd-dt", "phong gd"),
    Unit.Kind.INSTITUTION: ("co so giao duc", "csgd", "truong", "truong hoc", "co so"),
    Unit.Kind.OTHER: ("khac", "don vi khac"),
}
LEVEL_WORDS = {
    EducationLevel.PRESCHOOL: "Mầm non",
    EducationLevel.PRIMARY: "Tiểu học",
    EducationLevel.LOWER_SECONDARY: "Trung học cơ sở",
    EducationLevel.UPPER_SECONDARY: "Trung học phổ thông",
    EducationLevel.CONTINUING: "Giáo dục thường xuyên",
    EducationLevel.SPECIALISED: "Trường chuyên biệt",
    EducationLevel.UNIVERSITY: "Đại học",
    EducationLevel.TEACHER_COLLEGE: "Cao đẳng sư phạm",
}
CATEGORY_WORDS = {
    Person.Category.MANAGEMENT: "Ban giám hiệu",
    Person.Category.TEACHER: "Giáo viên",
    Person.Category.STAFF: "Nhân viên",
}
CATEGORY_ALIASES = {  # folded
    Person.Category.MANAGEMENT: ("bgh", "cbql", "can bo quan ly", "quan ly", "ql", "lanh dao",
                                 "management board"),
    Person.Category.TEACHER: ("gv", "giao vien", "nha giao"),
    Person.Category.STAFF: ("nv", "nhan vien", "cnv", "cong nhan vien"),
}

# Model field -> the column it comes from.
UNIT_FIELD_COLUMNS = {
    "code": "code", "name": "name", "kind": "kind", "kind_label": "kind", "short_name": "short_name",
    "levels": "levels", "commune": "commune", "address": "address", "latitude": "latitude",
    "longitude": "longitude", "managers_count": "managers_count", "teachers_count": "teachers_count",
    "staff_count": "staff_count",
}
PERSON_FIELD_COLUMNS = {
    "code": "code", "full_name": "full_name", "unit_id": "unit_code", "category": "category",
    "position": "position", "phone": "phone", "email": "email",
}
# What the audit log records of each (services.py's lists, plus the place in the tree).
UNIT_AUDIT_FIELDS = [*services.UNIT_FIELDS, "parent"]
PERSON_AUDIT_FIELDS = [*services.PERSON_FIELDS, "unit"]
COUNT_COLUMNS = ("managers_count", "teachers_count", "staff_count")
_TEXT_COLUMNS = ("name", "short_name", "commune", "address")


# --- reading values ---------------------------------------------------------------------------
_GROUPED = re.compile(r"\d{1,3}(?:[.,\s]\d{3})+")
_WHOLE_FLOAT = re.compile(r"(\d+)[.,]0+")
_LIST_SEPARATORS = re.compile(r"[;,\n]")


@lru_cache(maxsize=8)
def _kind_words(language: str) -> dict[str, set[str]]:
    """Folded words meaning each kind: key, Vietnamese word, aliases, English and current labels."""
    words = {}
    for kind in Unit.Kind:
        with translation.override("en"):
            english = fold(str(kind.label))
        with translation.override(language):
            current = fold(str(kind.label))
        words[kind.value] = {kind.value, fold(KIND_WORDS[kind]), english, current, *KIND_ALIASES[kind]}
    return words


def parse_kind(text: str, existing: Unit | None = None) -> tuple[str, str]:
    """The kind and kind label that ``text`` means: a known kind, or "other" with the text as label."""
    folded = fold(text)
    if existing is not None and existing.kind_label and fold(existing.kind_label) == folded:
        # An export writes a unit's own label; reading it back must not turn it into "other".
        return existing.kind, existing.kind_label
    for kind, words in _kind_words(translation.get_language() or settings.LANGUAGE_CODE).items():
        if folded in words:
            return kind, ""
    return Unit.Kind.OTHER, text


def parse_levels(text: str) -> int:
    """The levels of education named in ``text``, separated by commas or semicolons."""
    mask, unknown = 0, []
    for word in _LIST_SEPARATORS.split(text or ""):
        word = word.strip(" .")
        if not word:
            continue
        bit = EducationLevel.parse_one(word)
        if bit is None:
            unknown.append(word)
        else:
            mask |= bit
    if unknown:
        raise DomainError(_("Unknown level of education: %(words)s.") % {"words": ", ".join(unknown)},
                          "bad_level")
    return mask


def parse_count(text: str) -> int:
    """A whole number of zero or more, as officials type it ("30", "1.250", "30.0"); empty is 0."""
    t = (text or "").replace("\u00a0", " ").strip()
    if not t:
        return 0
    if t.isdigit():
        return int(t)
    if _GROUPED.fullmatch(t):  # Vietnamese thousands: 1.250 is one thousand two hundred and fifty
        return int(re.sub(r"\D", "", t))
    m = _WHOLE_FLOAT.fullmatch(t)
    if m:
        return int(m.group(1))
    raise DomainError(_("“%(value)s” is not a whole number of zero or more.") % {"value": t}, "bad_number")


def parse_decimal(text: str) -> decimal.Decimal | None:
    """A coordinate in decimal degrees ("21.0285" or "21,0285"); empty is None."""
    t = (text or "").replace(" ", "").replace("\u00a0", "")
    if not t:
        return None
    if "," in t and "." not in t:
        t = t.replace(",", ".")
    try:
        value = decimal.Decimal(t)
    except decimal.InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise DomainError(_("“%(value)s” is not a number.") % {"value": text}, "bad_number")
    return value.quantize(decimal.Decimal("0.000001"), rounding=decimal.ROUND_HALF_UP)


@lru_cache(maxsize=8)
def _category_words(language: str) -> dict[str, set[str]]:
    words = {}
    for category in Person.Category:
        with translation.override("en"):
            english = fold(str(category.label))
        with translation.override(language):
            current = fold(str(category.label))
        words[category.value] = {category.value, fold(CATEGORY_WORDS[category]), english, current,
                                 *CATEGORY_ALIASES[category]}
    return words


def parse_category(text: str) -> str:
    """The group (Ban giám hiệu, Giáo viên, Nhân viên) that ``text`` means, aliases included."""
    category = _category_of(text, translation.get_language() or settings.LANGUAGE_CODE)
    if category is not None:
        return category
    raise DomainError(
        _("Unknown group “%(value)s”: write Ban giám hiệu, Giáo viên or Nhân viên.") % {"value": text},
        "bad_category",
    )


@lru_cache(maxsize=256)
def _category_of(text: str, language: str) -> str | None:
    """The category ``text`` means, or None; cached: a file of 50,000 people writes a handful of words."""
    folded = fold(text)
    return next((category for category, words in _category_words(language).items() if folded in words), None)


def restore_phone(text: str) -> str:
    """Give back the leading 0 that Excel drops when a phone number is stored as a number."""
    t = (text or "").strip()
    if len(t) == 9 and t.isdigit() and t[0] != "0":
        return "0" + t
    return t


# --- writing values: the cells of an export, in the columns' order ----------------------------
def unit_cells(unit: Unit, parent_code: str) -> dict:
    """The values of one unit as the import's columns expect them."""
    return {
        "code": unit.code,
        "name": unit.name,
        "kind": unit.kind_label or KIND_WORDS.get(unit.kind, unit.kind),
        "parent_code": parent_code or "",
        "short_name": unit.short_name,
        "levels": ", ".join(w for bit, w in LEVEL_WORDS.items() if unit.levels & bit),
        "commune": unit.commune,
        "address": unit.address,
        "latitude": unit.latitude,
        "longitude": unit.longitude,
        "managers_count": unit.managers_count,
        "teachers_count": unit.teachers_count,
        "staff_count": unit.staff_count,
    }


def person_cells(person: Person, unit_code: str) -> dict:
    return {
        "code": person.code,
        "full_name": person.full_name,
        "unit_code": unit_code,
        "category": CATEGORY_WORDS.get(person.category, person.category),
        "position": person.position,
        "phone": person.phone,
        "email": person.email,
    }


def headers(kind: str) -> list[str]:
    """The header row of a sheet of ``kind``: the labels, required ones marked with *."""
    return [c.label + ("*" if c.required else "") for c in COLUMNS[kind]]


# A blank cell keeps what is recorded (an update never erases by omission); this marker, alone in a
# cell, clears the value. Documented on the import page and in docs/ARCHITECTURE.md ("Imports").
CLEAR_MARKER = "[xoá]"


def is_blank_keep(text) -> bool:
    """A cell left empty: keep the recorded value."""
    return not (text or "").strip()


def is_clear(text) -> bool:
    """A cell holding the clear marker ("[xoá]", "[xoa]", "[XOÁ]"): clear the recorded value."""
    return "[" in (text or "") and fold(text) == "[xoa]"  # most cells hold no "[": no folding
