"""The worlds diemcau runs on: the seed's 2023 demo and the national benchmark, from a seed number.

``demo``: the ministry, the 63 departments of 2023, Sở GD&ĐT Hà Nội with Phòng GD&ĐT Ba Vì and
its ~100 institutions (the real communes of Ba Vì in 2023), ~4,900 managers, teachers and staff,
two more Hà Nội districts with a few schools each, and a handful of universities and
teacher-training colleges under the ministry. ``national``: the same ministry, departments,
Ba Vì and universities, plus ~700 district offices, ~43,000 institutions and ~1.6 million people.

Everything is generated from ``(seed, unit code)``, never from database ids or the order of
generation: the same seed gives the same names, codes and phones, and Ba Vì is the same in both
sizes. People are synthetic; place names are real (2023 for Ba Vì, Hà Nội's districts and the
provinces; today's communes from ``vietnam-provinces`` stand in for the rest of the country).

Loading streams one department at a time: unit ids are reserved first so every path is written
in the insert itself, people go in chunks of plain rows (COPY on PostgreSQL), and one audit entry
summarises the load.
"""

import itertools
import random
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core import audit
from diemcau.core.errors import DomainError
from diemcau.core.models import AuditEntry
from diemcau.core.vntext import fold
from diemcau.orgs import admin_data, services
from diemcau.orgs.admin_data import MINISTRY_CODE, MINISTRY_NAME, MINISTRY_SHORT_NAME, reserve_unit_ids, unit_search_key
from diemcau.orgs.models import EducationLevel, Person, Role, Unit, path_segment
from diemcau.orgs.scoping import SYSTEM

SEED = 2023
SIZES = ("demo", "national")
DEMO_PASSWORD = "diemcau2023"  # noqa: S105 (public on purpose: printed by `make demo`, demo data only)
PEOPLE_CHUNK = 20000  # rows generated and written at a time: bounds memory, amortises round trips
ORM_BATCH = 2000  # for the bulk_create path, kept to compare against

L = EducationLevel


def _nfc(value):
    """NFC-normalise every string in a nested literal (the tables below are typed by hand)."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, tuple):
        return tuple(_nfc(v) for v in value)
    if isinstance(value, list):
        return [_nfc(v) for v in value]
    if isinstance(value, dict):
        return {k: _nfc(v) for k, v in value.items()}
    return value


# --- the 2023 map -----------------------------------------------------------------------------
# The 63 provinces of 2023: GSO code, name, centrally-run city?, capital (lat, lon), number of
# district-level units, and the 2025 province that absorbed it (whose communes lend their names).
PROVINCES_2023 = _nfc([
    (1, "Hà Nội", True, 21.0285, 105.8542, 30, 1),
    (2, "Hà Giang", False, 22.8233, 104.9836, 11, 8),
    (4, "Cao Bằng", False, 22.6657, 106.2577, 10, 4),
    (6, "Bắc Kạn", False, 22.1470, 105.8348, 8, 19),
    (8, "Tuyên Quang", False, 21.8180, 105.2110, 7, 8),
    (10, "Lào Cai", False, 22.4856, 103.9707, 9, 15),
    (11, "Điện Biên", False, 21.3860, 103.0230, 10, 11),
    (12, "Lai Châu", False, 22.3964, 103.4582, 8, 12),
    (14, "Sơn La", False, 21.3270, 103.9141, 12, 14),
    (15, "Yên Bái", False, 21.7051, 104.8750, 9, 15),
    (17, "Hòa Bình", False, 20.8172, 105.3376, 10, 25),
    (19, "Thái Nguyên", False, 21.5942, 105.8482, 9, 19),
    (20, "Lạng Sơn", False, 21.8537, 106.7615, 11, 20),
    (22, "Quảng Ninh", False, 20.9515, 107.0800, 13, 22),
    (24, "Bắc Giang", False, 21.2731, 106.1946, 10, 24),
    (25, "Phú Thọ", False, 21.3227, 105.4019, 13, 25),
    (26, "Vĩnh Phúc", False, 21.3089, 105.6049, 9, 25),
    (27, "Bắc Ninh", False, 21.1861, 106.0763, 8, 24),
    (30, "Hải Dương", False, 20.9400, 106.3300, 12, 31),
    (31, "Hải Phòng", True, 20.8449, 106.6881, 15, 31),
    (33, "Hưng Yên", False, 20.6464, 106.0511, 10, 33),
    (34, "Thái Bình", False, 20.4463, 106.3366, 8, 33),
    (35, "Hà Nam", False, 20.5411, 105.9139, 6, 37),
    (36, "Nam Định", False, 20.4340, 106.1771, 10, 37),
    (37, "Ninh Bình", False, 20.2506, 105.9745, 8, 37),
    (38, "Thanh Hóa", False, 19.8067, 105.7852, 26, 38),
    (40, "Nghệ An", False, 18.6796, 105.6813, 21, 40),
    (42, "Hà Tĩnh", False, 18.3428, 105.9057, 13, 42),
    (44, "Quảng Bình", False, 17.4689, 106.6223, 8, 44),
    (45, "Quảng Trị", False, 16.7500, 107.1856, 10, 44),
    (46, "Thừa Thiên Huế", False, 16.4637, 107.5909, 9, 46),
    (48, "Đà Nẵng", True, 16.0544, 108.2022, 8, 48),
    (49, "Quảng Nam", False, 15.5736, 108.4740, 18, 48),
    (51, "Quảng Ngãi", False, 15.1214, 108.8044, 13, 51),
    (52, "Bình Định", False, 13.7765, 109.2237, 11, 52),
    (54, "Phú Yên", False, 13.0882, 109.0929, 9, 66),
    (56, "Khánh Hòa", False, 12.2388, 109.1967, 9, 56),
    (58, "Ninh Thuận", False, 11.5653, 108.9886, 7, 56),
    (60, "Bình Thuận", False, 10.9289, 108.1021, 10, 68),
    (62, "Kon Tum", False, 14.3498, 108.0005, 10, 51),
    (64, "Gia Lai", False, 13.9833, 108.0000, 17, 52),
    (66, "Đắk Lắk", False, 12.6667, 108.0378, 15, 66),
    (67, "Đắk Nông", False, 12.0042, 107.6907, 8, 68),
    (68, "Lâm Đồng", False, 11.9404, 108.4583, 12, 68),
    (70, "Bình Phước", False, 11.5349, 106.8832, 11, 75),
    (72, "Tây Ninh", False, 11.3101, 106.0983, 9, 80),
    (74, "Bình Dương", False, 10.9804, 106.6519, 9, 79),
    (75, "Đồng Nai", False, 10.9453, 106.8243, 11, 75),
    (77, "Bà Rịa - Vũng Tàu", False, 10.3460, 107.0843, 8, 79),
    (79, "Hồ Chí Minh", True, 10.7769, 106.7009, 22, 79),
    (80, "Long An", False, 10.5356, 106.4137, 15, 80),
    (82, "Tiền Giang", False, 10.3600, 106.3600, 11, 82),
    (83, "Bến Tre", False, 10.2415, 106.3759, 9, 86),
    (84, "Trà Vinh", False, 9.9347, 106.3453, 9, 86),
    (86, "Vĩnh Long", False, 10.2537, 105.9722, 8, 86),
    (87, "Đồng Tháp", False, 10.4560, 105.6330, 12, 82),
    (89, "An Giang", False, 10.3865, 105.4352, 11, 91),
    (91, "Kiên Giang", False, 10.0125, 105.0809, 15, 91),
    (92, "Cần Thơ", True, 10.0452, 105.7469, 9, 92),
    (93, "Hậu Giang", False, 9.7845, 105.4701, 8, 92),
    (94, "Sóc Trăng", False, 9.6025, 105.9739, 11, 92),
    (95, "Bạc Liêu", False, 9.2850, 105.7244, 7, 96),
    (96, "Cà Mau", False, 9.1769, 105.1524, 9, 96),
])
HANOI = 1
# Provincial capitals (2023) whose name is not the province's: the first district office of each.
CAPITALS = _nfc({
    11: "Điện Biên Phủ", 22: "Hạ Long", 25: "Việt Trì", 26: "Vĩnh Yên", 35: "Phủ Lý", 40: "Vinh",
    44: "Đồng Hới", 45: "Đông Hà", 46: "Huế", 49: "Tam Kỳ", 52: "Quy Nhơn", 54: "Tuy Hòa",
    56: "Nha Trang", 58: "Phan Rang - Tháp Chàm", 60: "Phan Thiết", 64: "Pleiku", 66: "Buôn Ma Thuột",
    67: "Gia Nghĩa", 68: "Đà Lạt", 70: "Đồng Xoài", 74: "Thủ Dầu Một", 75: "Biên Hòa", 77: "Vũng Tàu",
    79: "Thủ Đức", 80: "Tân An", 82: "Mỹ Tho", 87: "Cao Lãnh", 89: "Long Xuyên", 91: "Rạch Giá",
    93: "Vị Thanh",
})
# Hà Nội's 30 district-level units in 2023, with their GSO codes.
HANOI_DISTRICTS = _nfc([
    (1, "quận", "Ba Đình"), (2, "quận", "Hoàn Kiếm"), (3, "quận", "Tây Hồ"), (4, "quận", "Long Biên"),
    (5, "quận", "Cầu Giấy"), (6, "quận", "Đống Đa"), (7, "quận", "Hai Bà Trưng"), (8, "quận", "Hoàng Mai"),
    (9, "quận", "Thanh Xuân"), (16, "huyện", "Sóc Sơn"), (17, "huyện", "Đông Anh"), (18, "huyện", "Gia Lâm"),
    (19, "quận", "Nam Từ Liêm"), (20, "huyện", "Thanh Trì"), (21, "quận", "Bắc Từ Liêm"),
    (250, "huyện", "Mê Linh"), (268, "quận", "Hà Đông"), (269, "thị xã", "Sơn Tây"), (271, "huyện", "Ba Vì"),
    (272, "huyện", "Phúc Thọ"), (273, "huyện", "Đan Phượng"), (274, "huyện", "Hoài Đức"),
    (275, "huyện", "Quốc Oai"), (276, "huyện", "Thạch Thất"), (277, "huyện", "Chương Mỹ"),
    (278, "huyện", "Thanh Oai"), (279, "huyện", "Thường Tín"), (280, "huyện", "Phú Xuyên"),
    (281, "huyện", "Ứng Hòa"), (282, "huyện", "Mỹ Đức"),
])
BA_VI = 271
SOC_SON = 16
THACH_THAT = 276
# Ba Vì in 2023: thị trấn Tây Đằng and 30 communes, each with an approximate centre.
BA_VI_COMMUNES = _nfc([
    ("Tây Đằng", "Thị trấn", 21.2048, 105.4229), ("Ba Trại", "Xã", 21.1500, 105.3900),
    ("Ba Vì", "Xã", 21.0900, 105.3800), ("Cẩm Lĩnh", "Xã", 21.1850, 105.3700),
    ("Cam Thượng", "Xã", 21.1750, 105.4550), ("Châu Sơn", "Xã", 21.2550, 105.3950),
    ("Chu Minh", "Xã", 21.2100, 105.4550), ("Cổ Đô", "Xã", 21.2900, 105.3650),
    ("Đông Quang", "Xã", 21.1900, 105.4550), ("Đồng Thái", "Xã", 21.2250, 105.4450),
    ("Khánh Thượng", "Xã", 21.0850, 105.3150), ("Minh Châu", "Xã", 21.2350, 105.4750),
    ("Minh Quang", "Xã", 21.1100, 105.3550), ("Phong Vân", "Xã", 21.2950, 105.3400),
    ("Phú Châu", "Xã", 21.2500, 105.4150), ("Phú Cường", "Xã", 21.2400, 105.4400),
    ("Phú Đông", "Xã", 21.2800, 105.3850), ("Phú Phương", "Xã", 21.2600, 105.4250),
    ("Phú Sơn", "Xã", 21.2200, 105.4300), ("Sơn Đà", "Xã", 21.2100, 105.3500),
    ("Tản Hồng", "Xã", 21.2700, 105.4000), ("Tản Lĩnh", "Xã", 21.1300, 105.4100),
    ("Thái Hòa", "Xã", 21.2400, 105.4250), ("Thuần Mỹ", "Xã", 21.1800, 105.3450),
    ("Thụy An", "Xã", 21.1650, 105.4400), ("Tiên Phong", "Xã", 21.1700, 105.4200),
    ("Tòng Bạt", "Xã", 21.2300, 105.3550), ("Vân Hòa", "Xã", 21.0900, 105.4200),
    ("Vạn Thắng", "Xã", 21.2650, 105.3800), ("Vật Lại", "Xã", 21.1950, 105.3950),
    ("Yên Bài", "Xã", 21.0850, 105.4500),
])
# Large communes with two primary schools (A and B), as many districts have.
BA_VI_TWO_PRIMARY = {"Tây Đằng", "Ba Trại", "Tản Lĩnh"}
# Upper-secondary, specialised and continuing-education institutions of Ba Vì, with their commune.
# They answer to the Sở in reality; here they sit under the Phòng because the seed's bridge points
# gather every institution of the district, whoever manages it.
BA_VI_OTHERS = _nfc([
    ("Trường THPT Ba Vì", "THPT Ba Vì", "upper", "Ba Trại"),
    ("Trường THPT Quảng Oai", "THPT Quảng Oai", "upper", "Tây Đằng"),
    ("Trường THPT Ngô Quyền - Ba Vì", "THPT Ngô Quyền - Ba Vì", "upper", "Vật Lại"),
    ("Trường THPT Bất Bạt", "THPT Bất Bạt", "upper", "Sơn Đà"),
    ("Trường THPT Minh Quang", "THPT Minh Quang", "upper", "Minh Quang"),
    ("Trường Phổ thông Dân tộc nội trú Hà Nội", "PT DTNT Hà Nội", "specialised", "Ba Trại"),
    ("Trung tâm GDNN-GDTX huyện Ba Vì", "TT GDNN-GDTX Ba Vì", "continuing", "Tây Đằng"),
])
# "Almost 4,900 managers, teachers and staff" (the seed): the institutions' people, to the person.
BA_VI_PEOPLE = 4890
# A few schools in two more Hà Nội districts, so that scoping has a neighbour to hide.
DEMO_HANOI_SCHOOLS = _nfc({
    SOC_SON: [("Phù Linh", "preschool"), ("Minh Trí", "primary"), ("Phù Linh", "lower"),
              ("Sóc Sơn", "upper")],
    THACH_THAT: [("Bình Yên", "preschool"), ("Thạch Hòa", "primary"), ("Hương Ngải", "lower"),
                 ("Thạch Thất", "upper")],
})
DISTRICT_CENTRES = {BA_VI: (21.2048, 105.4229), SOC_SON: (21.2570, 105.8480), THACH_THAT: (21.0250, 105.5600)}
# Universities and teacher-training colleges under the ministry: the afternoon session's audience.
UNIVERSITIES = _nfc([
    ("SPH", "Trường Đại học Sư phạm Hà Nội", "ĐHSP Hà Nội", "university", 21.0375, 105.7830,
     "136 Xuân Thủy, Cầu Giấy, Hà Nội"),
    ("SP2", "Trường Đại học Sư phạm Hà Nội 2", "ĐHSP Hà Nội 2", "university", 21.2636, 105.7073,
     "32 Nguyễn Văn Linh, Xuân Hòa, Phúc Yên, Vĩnh Phúc"),
    ("SPS", "Trường Đại học Sư phạm Thành phố Hồ Chí Minh", "ĐHSP TP. Hồ Chí Minh", "university",
     10.7613, 106.6822, "280 An Dương Vương, Quận 5, TP. Hồ Chí Minh"),
    ("SPK", "Trường Đại học Sư phạm Kỹ thuật Thành phố Hồ Chí Minh", "ĐHSPKT TP. Hồ Chí Minh", "university",
     10.8505, 106.7718, "1 Võ Văn Ngân, Thủ Đức, TP. Hồ Chí Minh"),
    ("TDV", "Trường Đại học Vinh", "ĐH Vinh", "university", 18.6590, 105.6960, "182 Lê Duẩn, Vinh, Nghệ An"),
    ("CSPTW", "Trường Cao đẳng Sư phạm Trung ương", "CĐSP Trung ương", "college", 21.0406, 105.7977,
     "387 Hoàng Quốc Việt, Cầu Giấy, Hà Nội"),
    ("CSPTWNT", "Trường Cao đẳng Sư phạm Trung ương Nha Trang", "CĐSP TW Nha Trang", "college",
     12.2540, 109.1920, "Nha Trang, Khánh Hòa"),
    ("CSPTWHCM", "Trường Cao đẳng Sư phạm Trung ương Thành phố Hồ Chí Minh", "CĐSP TW TP. Hồ Chí Minh",
     "college", 10.7900, 106.6760, "Quận 3, TP. Hồ Chí Minh"),
])

# --- kinds of institution: name prefix, short prefix, levels, people (mean, spread, floor) ----
STYLES = {
    "preschool": ("Trường Mầm non", "MN", L.PRESCHOOL, (32, 8, 12)),
    "primary": ("Trường Tiểu học", "TH", L.PRIMARY, (37, 10, 15)),
    "lower": ("Trường THCS", "THCS", L.LOWER_SECONDARY, (36, 10, 15)),
    "upper": ("Trường THPT", "THPT", L.UPPER_SECONDARY, (75, 15, 40)),
    "specialised": ("Trường Phổ thông Dân tộc nội trú", "PT DTNT",
                    L.SPECIALISED | L.LOWER_SECONDARY | L.UPPER_SECONDARY, (80, 10, 50)),
    "continuing": ("Trung tâm GDNN-GDTX", "TT GDNN-GDTX", L.CONTINUING, (25, 6, 10)),
    "university": ("", "", L.UNIVERSITY, (100, 30, 50)),
    "college": ("", "", L.TEACHER_COLLEGE, (70, 20, 40)),
    "office": ("", "", 0, (12, 3, 8)),
}
# Ba Vì's schools are larger than the national mean (a populous rural district).
BA_VI_SIZES = {"preschool": (42, 9, 20), "primary": (47, 10, 22), "lower": (43, 9, 20),
               "upper": (90, 12, 60), "specialised": (80, 8, 60), "continuing": (35, 5, 20)}
# Share of women among the people of each kind of unit.
FEMALE_SHARE = {"preschool": 0.97, "primary": 0.82, "lower": 0.72, "upper": 0.62, "specialised": 0.6,
                "continuing": 0.55, "university": 0.55, "college": 0.6, "office": 0.5}

# --- people: names, positions, phones ---------------------------------------------------------
# Family names with rough shares; Ba Vì and Sơn Tây's Phùng, Kiều, Khuất get a place too.
FAMILY_NAMES = _nfc([
    ("Nguyễn", 380), ("Trần", 110), ("Lê", 95), ("Phạm", 70), ("Hoàng", 50), ("Phan", 40), ("Vũ", 39),
    ("Đặng", 21), ("Bùi", 20), ("Đỗ", 16), ("Hồ", 13), ("Ngô", 13), ("Dương", 10), ("Lý", 5),
    ("Đinh", 9), ("Trịnh", 7), ("Đào", 7), ("Mai", 5), ("Lương", 5), ("Phùng", 6), ("Kiều", 4),
    ("Khuất", 3), ("Chu", 4), ("Tạ", 3), ("Cao", 4), ("Hà", 5), ("Lưu", 3), ("Tô", 2), ("Đàm", 2),
    ("Vương", 2), ("Quách", 1), ("Lại", 2), ("Triệu", 2), ("Thái", 2),
])
MIDDLE_F = _nfc(["Thị", "Thị", "Thị", "Thị", "Thu", "Thanh", "Ngọc", "Minh", "Hồng", "Thùy", "Phương",
                 "Kim", "Bích", "Mai", "Diệu", "Khánh", "Hải", "Quỳnh", "Lan", "Như"])
MIDDLE_M = _nfc(["Văn", "Văn", "Văn", "Đức", "Minh", "Quang", "Hữu", "Công", "Xuân", "Thanh", "Mạnh",
                 "Tiến", "Ngọc", "Trọng", "Anh", "Duy", "Việt", "Thế", "Huy", "Đình"])
GIVEN_F = _nfc(["An", "Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Huệ", "Hương",
                "Huyền", "Lan", "Liên", "Linh", "Loan", "Mai", "Minh", "Nga", "Ngân", "Ngọc", "Nhung",
                "Oanh", "Phương", "Quỳnh", "Thảo", "Thu", "Thủy", "Thúy", "Trang", "Tuyết", "Vân", "Yến",
                "Hậu", "Hòa", "Lệ", "Nhàn", "Thơ", "Xuân", "Hồng", "Lý", "Duyên", "My", "Nhi"])
GIVEN_M = _nfc(["An", "Anh", "Bình", "Cường", "Dũng", "Đạt", "Đức", "Dương", "Giang", "Hải", "Hiếu",
                "Hoàng", "Hùng", "Huy", "Khánh", "Khoa", "Kiên", "Lâm", "Long", "Minh", "Nam", "Nghĩa",
                "Phong", "Phúc", "Quân", "Quang", "Sơn", "Tài", "Thắng", "Thành", "Thịnh", "Tiến", "Toàn",
                "Trung", "Tuấn", "Tùng", "Việt", "Vinh", "Vũ", "Hưng", "Lợi", "Hòa", "Chiến", "Khải"])
PHONE_PREFIXES = ["086", "088", "089", "090", "091", "093", "094", "096", "097", "098", "032", "033", "034",
                  "035", "036", "037", "038", "039", "070", "076", "077", "078", "079", "081", "082", "083",
                  "084", "085", "056", "058"]
SUBJECTS = _nfc(["Toán", "Toán", "Ngữ văn", "Ngữ văn", "Tiếng Anh", "Vật lí", "Hóa học", "Sinh học",
                 "Lịch sử", "Địa lí", "Giáo dục công dân", "Tin học", "Công nghệ", "Giáo dục thể chất",
                 "Âm nhạc", "Mĩ thuật"])
PRIMARY_TEACHERS = _nfc(["Giáo viên"] * 8 + ["Giáo viên Tiếng Anh", "Giáo viên Tin học",
                                             "Giáo viên Âm nhạc", "Giáo viên Mĩ thuật",
                                             "Giáo viên Giáo dục thể chất"])
SCHOOL_STAFF = _nfc(["Kế toán", "Văn thư", "Nhân viên y tế", "Nhân viên thư viện", "Nhân viên thiết bị",
                     "Bảo vệ", "Thủ quỹ", "Nhân viên phục vụ"])
PRESCHOOL_STAFF = _nfc(["Nhân viên nấu ăn"] * 5 + ["Kế toán", "Văn thư", "Nhân viên y tế", "Bảo vệ"])
OFFICE_STAFF = _nfc(["Chuyên viên"] * 6 + ["Kế toán", "Văn thư"])
UNIVERSITY_STAFF = _nfc(["Chuyên viên"] * 4 + ["Kỹ thuật viên", "Thư viện viên", "Kế toán", "Văn thư"])
# The heads of the management board for each kind of unit: head, deputy, and further managers.
TITLES = _nfc({
    "office": ("Trưởng phòng", "Phó Trưởng phòng", "Chuyên viên chính"),
    "continuing": ("Giám đốc", "Phó Giám đốc", "Tổ trưởng chuyên môn"),
    "university": ("Hiệu trưởng", "Phó Hiệu trưởng", "Trưởng khoa"),
    "college": ("Hiệu trưởng", "Phó Hiệu trưởng", "Trưởng khoa"),
    "school": ("Hiệu trưởng", "Phó Hiệu trưởng", "Tổ trưởng chuyên môn"),
})
MANAGER_SHARE, STAFF_SHARE = 0.08, 0.17
# Plain strings: database drivers bind str, not its Enum subclasses.
MANAGEMENT, TEACHER, STAFF = (c.value for c in (Person.Category.MANAGEMENT, Person.Category.TEACHER,
                                                 Person.Category.STAFF))


def _weights(pairs):
    names = [n for n, _w in pairs]
    return names, list(itertools.accumulate(w for _n, w in pairs))


_FAMILY, _FAMILY_CUM = _weights(FAMILY_NAMES)
_FOLD = {w: fold(w) for w in {*_FAMILY, *MIDDLE_F, *MIDDLE_M, *GIVEN_F, *GIVEN_M}}


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


# --- demo accounts ----------------------------------------------------------------------------
# username, role, unit code (None: unscoped), what the account is for (Vietnamese, shown to users)
ACCOUNTS = _nfc([
    ("bo", Role.NATIONAL_ORGANISER, None, "Ban tổ chức toàn quốc (Văn phòng Bộ GD&ĐT)"),
    ("hanoi", Role.UNIT_ORGANISER, department_code(HANOI), "Ban tổ chức Sở GD&ĐT Hà Nội"),
    ("bavi", Role.UNIT_ORGANISER, BA_VI_CODE, "Ban tổ chức Phòng GD&ĐT Ba Vì"),
    ("hieutruong", Role.PRINCIPAL, "school", "Hiệu trưởng Trường Tiểu học Tây Đằng A"),
    ("giaovien", Role.PARTICIPANT, "school", "Giáo viên Trường Tiểu học Tây Đằng A"),
    ("dieuphoi", Role.DIRECTOR, None, "Điều phối chương trình trực tiếp"),
    ("kiemduyet", Role.MODERATOR, BA_VI_CODE, "Kiểm duyệt ý kiến cấp Phòng GD&ĐT Ba Vì"),
    ("phantich", Role.ANALYST, None, "Phân tích ý kiến, tổng hợp cho Bộ"),
    # Points do not exist yet: the operator is scoped to the office that will host Ba Vì's point.
    ("kythuat", Role.POINT_OPERATOR, BA_VI_CODE, "Kỹ thuật điểm cầu Phòng GD&ĐT Ba Vì"),
])


def _account_school_code(seed: int = SEED) -> str:
    return next(n.code for n in ba_vi(seed).children if n.name == "Trường Tiểu học Tây Đằng A")


def demo_accounts(seed: int = SEED) -> list[dict]:
    """The demo's accounts, one per role, all with :data:`DEMO_PASSWORD` (no database needed)."""
    school = _account_school_code(seed)
    names = {department_code(HANOI): "Sở Giáo dục và Đào tạo Hà Nội",
             BA_VI_CODE: "Phòng Giáo dục và Đào tạo huyện Ba Vì", school: "Trường Tiểu học Tây Đằng A"}
    rows = []
    for username, role, unit, description in ACCOUNTS:
        unit = school if unit == "school" else unit
        rows.append({"username": username, "password": DEMO_PASSWORD, "role": str(role),
                     "role_label": str(Role(role).label), "unit_code": unit or "",
                     "unit_name": names.get(unit, ""), "description": description})
    return rows


def format_accounts(seed: int = SEED) -> str:
    """The demo accounts as a plain-text table, for the terminal."""
    rows = [("Tài khoản", "Mật khẩu", "Vai trò", "Phạm vi", "Dùng để")]
    rows += [(a["username"], a["password"], a["role"], a["unit_code"] or "(toàn quốc)", a["description"])
             for a in demo_accounts(seed)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def ensure_accounts(seed: int = SEED) -> list[str]:
    """Create the demo accounts that are missing (existing ones keep their password); return the new."""
    User = get_user_model()
    created = []
    school_code = _account_school_code(seed)
    for spec in demo_accounts(seed):
        if User.objects.filter(username=spec["username"]).exists():
            continue
        unit = Unit.objects.get(code=spec["unit_code"]) if spec["unit_code"] else None
        person = None
        if spec["username"] == "hieutruong":
            person = Person.objects.get(code=f"{school_code}-0001")
        elif spec["username"] == "giaovien":
            person = Person.objects.filter(unit__code=school_code, category=Person.Category.TEACHER) \
                .order_by("code").first()
        full_name = person.full_name if person else _account_name(seed, spec["username"])
        user = services.create_account(SYSTEM, spec["username"], DEMO_PASSWORD, role=spec["role"], unit=unit,
                                       full_name=full_name)
        if person is not None:
            Person.objects.filter(pk=person.pk).update(user=user)
        created.append(spec["username"])
    return created


def _account_name(seed: int, username: str) -> str:
    rng = _rng(seed, "account", username)
    family = rng.choices(_FAMILY, cum_weights=_FAMILY_CUM)[0]
    if rng.random() < 0.5:
        return f"{family} {rng.choice(MIDDLE_F)} {rng.choice(GIVEN_F)}"
    return f"{family} {rng.choice(MIDDLE_M)} {rng.choice(GIVEN_M)}"


# --- loading ----------------------------------------------------------------------------------
@dataclass
class LoadReport:
    """What one run of :func:`load` did, with the time each part took."""

    seed: int
    size: str
    scale: float
    skipped: bool = False
    units: Counter = field(default_factory=Counter)
    people: Counter = field(default_factory=Counter)
    accounts: list[str] = field(default_factory=list)
    units_seconds: float = 0.0
    people_seconds: float = 0.0
    commit_seconds: float = 0.0
    seconds: float = 0.0
    write_method: str = ""

    @property
    def units_total(self) -> int:
        return sum(self.units.values())

    @property
    def people_total(self) -> int:
        return sum(self.people.values())

    def as_dict(self) -> dict:
        return {"seed": self.seed, "size": self.size, "scale": self.scale, "units": dict(self.units),
                "people": dict(self.people), "units_total": self.units_total,
                "people_total": self.people_total, "accounts": self.accounts,
                "units_seconds": round(self.units_seconds, 3), "people_seconds": round(self.people_seconds, 3),
                "commit_seconds": round(self.commit_seconds, 3), "seconds": round(self.seconds, 3),
                "write_method": self.write_method}


def loaded() -> dict | None:
    """The parameters of the demo in the database (seed, size, scale), or None if there is none."""
    if not Unit.objects.filter(code=BA_VI_CODE).exists():
        return None
    entry = AuditEntry.objects.filter(action="demo.loaded").order_by("-at", "-id").first()
    if entry is None or not entry.after:
        return {"seed": None, "size": None, "scale": None}
    return {k: entry.after.get(k) for k in ("seed", "size", "scale", "ministry_created")}


def load(seed: int = SEED, size: str = "demo", *, scale: float = 1.0, reset: bool = False,
         accounts: bool = True, write_method: str = "auto",
         progress: Callable[[str], None] | None = None) -> LoadReport:
    """Load the demo or national world; a no-op when the same world is already loaded.

    ``scale`` (national only) keeps that fraction of the district offices, for quick runs;
    Ba Vì is always kept. ``reset`` first removes what an earlier load made.
    """
    if size not in SIZES:
        raise DomainError(_("Unknown size %(size)s: use demo or national.") % {"size": size}, "bad_size")
    if not 0 < scale <= 1:
        raise DomainError(_("The scale must lie between 0 and 1."), "bad_scale")
    if size == "demo":
        scale = 1.0
    report = LoadReport(seed=seed, size=size, scale=scale)
    started = time.perf_counter()
    if reset:
        reset_demo()
    current = loaded()
    if current is not None:
        if (current["seed"], current["size"], current["scale"]) != (seed, size, scale):
            raise DomainError(
                _("Another demo is loaded (seed %(seed)s, size %(size)s). Run again with --reset to replace it.")
                % {"seed": current["seed"], "size": current["size"]},
                "demo_loaded",
            )
        report.skipped = True
        if accounts:
            with transaction.atomic():
                report.accounts = ensure_accounts(seed)
        report.seconds = time.perf_counter() - started
        return report
    taken = list(Unit.objects.filter(code__in=[*DEPARTMENT_CODES, *UNIVERSITY_CODES])
                 .values_list("code", flat=True)[:5])
    if taken:
        raise DomainError(
            _("The tree already has units with the demo's codes (%(codes)s), e.g. from load_admin_data "
              "--tree. Load the demo into an empty database.") % {"codes": ", ".join(taken)},
            "codes_taken",
        )
    method = _write_method(write_method)
    report.write_method = method
    with transaction.atomic():
        writer = _Writer(seed, report, method)
        ministry = Unit.objects.filter(code=MINISTRY_CODE).first()
        ministry_created = ministry is None
        if ministry_created:
            ministry = writer.units(None, [Node(code=MINISTRY_CODE, name=MINISTRY_NAME,
                                                short_name=MINISTRY_SHORT_NAME, kind=Unit.Kind.MINISTRY,
                                                address="35 Đại Cồ Việt, Hai Bà Trưng, Hà Nội",
                                                lat=21.0065, lon=105.8470)])[0]
        department_units = writer.units(ministry, departments())
        for province, department in zip(PROVINCES_2023, department_units, strict=True):
            generating = time.perf_counter()
            offices = department_subtree(seed, size, province, scale)
            report.units_seconds += time.perf_counter() - generating
            writer.units(department, offices)
            if progress:
                progress(f"{department.short_name}: {report.units_total} units, {report.people_total} people")
        writer.units(ministry, universities(seed))
        flushing = time.perf_counter()
        writer.flush()
        report.people_seconds += time.perf_counter() - flushing
        # Bulk rows carry no audit entry each: one summary entry records the whole load.
        audit.record(None, "demo.loaded", object_type="orgs.unit", object_id=ministry.pk,
                     object_repr=f"demo {size} seed {seed}", unit_path=ministry.path,
                     after={**report.as_dict(), "ministry_created": ministry_created})
        if accounts:
            report.accounts = ensure_accounts(seed)
        committing = time.perf_counter()
    # PostgreSQL checks the deferred foreign keys of every row here, not at each insert.
    report.commit_seconds = time.perf_counter() - committing
    if connection.vendor == "postgresql":
        # Until autovacuum passes, the planner would plan the first queries on a 1.6-million-row
        # table from the statistics of an empty one.
        with connection.cursor() as cursor:
            quote = connection.ops.quote_name
            cursor.execute(f"ANALYZE {quote(Unit._meta.db_table)}, {quote(Person._meta.db_table)}")
    report.seconds = time.perf_counter() - started
    return report


def _write_method(method: str) -> str:
    """How rows are written: "copy" (PostgreSQL), "rows" (executemany) or "orm" (bulk_create)."""
    if method == "auto":
        return "copy" if connection.vendor == "postgresql" else "rows"
    if method not in ("copy", "rows", "orm") or (method == "copy" and connection.vendor != "postgresql"):
        raise DomainError(_("Unknown way to write rows: %(m)s.") % {"m": method}, "bad_method")
    return method


@dataclass(slots=True)
class _Placed:
    """A unit already written: what its children and people need to know about it."""

    pk: int
    path: str
    depth: int
    short_name: str = ""


_UNIT_COLUMNS = ("id", "parent_id", "path", "depth", "kind", "code", "name", "name_search", "short_name",
                 "commune", "address", "latitude", "longitude", "levels", "managers_count", "teachers_count",
                 "staff_count")
_PERSON_COLUMNS = ("unit_id", "code", "full_name", "name_search", "category", "position", "phone")


class _Writer:
    """Writes units (ids reserved, paths precomputed) and their people in chunks of plain rows."""

    def __init__(self, seed: int, report: LoadReport, method: str):
        self.seed, self.report, self.method = seed, report, method
        self.rows: list[tuple] = []
        now = timezone.now()
        self.unit_rows = _RowInserter(Unit, _UNIT_COLUMNS, now, copy=method == "copy")
        self.person_rows = _RowInserter(Person, _PERSON_COLUMNS, now, copy=method == "copy")

    def units(self, parent: _Placed | Unit | None, nodes: list[Node]) -> list[_Placed]:
        """Insert ``nodes`` and their subtrees under ``parent``; queue their people; return the tops."""
        started = time.perf_counter()
        flat: list[tuple[Node, object]] = []
        for top in nodes:
            stack = [(top, parent)]
            while stack:  # parents before children, so a child's path can extend its parent's
                node, up = stack.pop()
                flat.append((node, up))
                stack.extend((child, node) for child in reversed(node.children))
        ids = iter(reserve_unit_ids(len(flat)))
        placed: dict[int, _Placed] = {}
        rows = []
        kinds = self.report.units
        for node, up in flat:
            up = placed[id(up)] if isinstance(up, Node) else up
            pk = next(ids)
            here = _Placed(pk, (up.path if up else "") + path_segment(pk), up.depth + 1 if up else 0,
                           node.short_name)
            placed[id(node)] = here
            rows.append((
                pk, up.pk if up else None, here.path, here.depth, str(node.kind), node.code, node.name,
                unit_search_key(node.name, node.short_name, node.code), node.short_name, node.commune,
                node.address, _decimal(node.lat), _decimal(node.lon), node.levels, node.managers,
                node.teachers, node.staff,
            ))
            kinds[str(node.kind)] += 1
        if self.method == "orm":
            Unit.objects.bulk_create([Unit(**dict(zip(_UNIT_COLUMNS, r, strict=True))) for r in rows],
                                     batch_size=ORM_BATCH)
        else:
            self.unit_rows.insert(rows)
        self.report.units_seconds += time.perf_counter() - started
        started = time.perf_counter()
        people = self.report.people
        for node, _up in flat:
            if node.people:
                unit_id = placed[id(node)].pk
                self.rows.extend(_people_rows(self.seed, node, unit_id))
                people[MANAGEMENT] += node.managers
                people[TEACHER] += node.teachers
                people[STAFF] += node.staff
                if len(self.rows) >= PEOPLE_CHUNK:
                    self.flush()
        self.report.people_seconds += time.perf_counter() - started
        return [placed[id(n)] for n in nodes]

    def flush(self):
        if not self.rows:
            return
        rows, self.rows = self.rows, []
        if self.method == "orm":
            Person.objects.bulk_create([Person(**dict(zip(_PERSON_COLUMNS, r, strict=True))) for r in rows],
                                       batch_size=ORM_BATCH)
        else:
            self.person_rows.insert(rows)


def _decimal(value: float | None) -> str | None:
    # The text of a DecimalField(decimal_places=6): both databases read it exactly.
    return None if value is None else f"{value:.6f}"


class _RowInserter:
    """Inserts plain tuples into a model's table: COPY on PostgreSQL, executemany on SQLite.

    Measured on the national tree, this is ~8× faster than bulk_create, which on SQLite is held to
    999 parameters (≈45 units) per statement and prepares every value through its field. Columns
    the rows do not carry get the model's default (auto_now fields: the load's time), so a field
    added later with a default needs no change here.
    """

    def __init__(self, model, columns: tuple[str, ...], now, *, copy: bool):
        self.copy = copy
        fields = {f.attname: f for f in model._meta.concrete_fields}
        rest = [f for name, f in fields.items() if name not in columns and not f.primary_key]
        self.tail = tuple(
            f.get_db_prep_save(now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
                               else f.get_default(), connection)
            for f in rest
        )
        quote = connection.ops.quote_name
        names = ", ".join(quote(fields[c].column) for c in columns) + "".join(f", {quote(f.column)}" for f in rest)
        table = quote(model._meta.db_table)
        if copy:
            self.sql = f"COPY {table} ({names}) FROM STDIN"
        else:
            placeholders = ", ".join(["%s"] * (len(columns) + len(rest)))
            self.sql = f"INSERT INTO {table} ({names}) VALUES ({placeholders})"

    def insert(self, rows: Iterable[tuple]):
        tail = self.tail
        with connection.cursor() as cursor:
            if self.copy:
                with cursor.cursor.copy(self.sql) as out:
                    for r in rows:
                        out.write_row((*r, *tail))
            else:
                cursor.executemany(self.sql, [(*r, *tail) for r in rows])


# --- reset ------------------------------------------------------------------------------------
def reset_demo() -> dict:
    """Delete what the demo loader made: its accounts, people and units, deepest units first.

    The ministry goes too when the demo created it and nothing else hangs below it.
    """
    User = get_user_model()
    state = loaded() or {}
    counts = Counter()
    with transaction.atomic():
        usernames = [a[0] for a in ACCOUNTS]
        counts["accounts"] = User.objects.filter(username__in=usernames).count()
        User.objects.filter(username__in=usernames).delete()
        tops = list(Unit.objects.filter(code__in=[*DEPARTMENT_CODES, *UNIVERSITY_CODES]))
        for top in tops:
            # One DELETE per subtree while nothing else refers to people; Django collects the
            # dependants instead once another module does.
            counts["people"] += services.people_in(top).delete()[0]
        ranges = [top.subtree_bounds() for top in tops]
        if ranges:
            from django.db.models import Max, Q

            within = Q()
            for low, high in ranges:
                within |= Q(path__gte=low, path__lt=high)
            deepest = Unit.objects.filter(within).aggregate(d=Max("depth"))["d"] or 0
            for depth in range(deepest, 0, -1):
                _n, by_model = Unit.objects.filter(within, depth=depth).delete()
                counts["units"] += by_model.get(Unit._meta.label, 0)
        ministry = Unit.objects.filter(code=MINISTRY_CODE).first()
        if ministry is not None and state.get("ministry_created") and not ministry.children.exists():
            ministry.delete()
            counts["units"] += 1
        if counts["units"] or counts["accounts"]:
            audit.record(None, "demo.reset", object_type="orgs.unit", object_repr="demo", after=dict(counts))
    return dict(counts)
