"""What the synthetic tree is drawn from: the real 2023 map (provinces, Hà Nội's districts, Ba Vì's
communes and institutions, universities), the kinds of institution and their sizes, and the names,
positions and phones of people. Tables typed by hand, NFC-normalised on import.
"""

import itertools
import unicodedata

from diemcau.core.vntext import fold
from diemcau.orgs.models import EducationLevel, Person

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
