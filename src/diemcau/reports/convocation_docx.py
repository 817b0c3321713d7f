"""The convocation as a Word document (.docx, python-docx), from :func:`.convocation.convocation_context`.

The same layout as the PDF: A4 with the Decree 30 margins, Times New Roman 13 pt; the heading as a
borderless two-column table (issuer and number left, nation and motto right, then the date line),
the title, "Kính gửi", the body, "Nơi nhận" beside the signature, and the appendix on a new page.
"""

import io

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.shared import Mm, Pt

FONT = "Times New Roman"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _para(cell_or_doc, text="", *, bold=False, italic=False, size=13, align=None, indent=False):
    p = cell_or_doc.add_paragraph()
    if align is not None:
        p.alignment = align
    if indent:
        p.paragraph_format.first_line_indent = Mm(10)
    p.paragraph_format.space_after = Pt(3)
    if text:
        run = p.add_run(text)
        run.bold, run.italic, run.font.size = bold, italic, Pt(size)
    return p


def _cell(cell, lines):
    """Fill a table cell with (text, bold, italic, size) lines, centred."""
    cell.paragraphs[0].text = ""
    first = True
    for text, bold, italic, size in lines:
        p = cell.paragraphs[0] if first else cell.add_paragraph()
        first = False
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.space_after = Pt(0)
        run = p.add_run(text)
        run.bold, run.italic, run.font.size = bold, italic, Pt(size)


def _heading(document, doc):
    table = document.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    left, right = table.rows[0].cells
    left.width, right.width = Mm(70), Mm(95)
    lines = [(doc.governing, False, False, 12)] if doc.governing else []
    _cell(left, [*lines, (doc.issuer, True, False, 12.5), ("———", False, False, 10),
                 (doc.number_line, False, False, 13)])
    _cell(right, [(doc.national[0], True, False, 12), (doc.national[1], True, False, 13),
                  ("———————", False, False, 10), (doc.date_line, False, True, 13)])


def _grid(document, headers, rows, widths):
    table = document.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    for cell, text, width in zip(table.rows[0].cells, headers, widths, strict=True):
        cell.width = Mm(width)
        cell.paragraphs[0].add_run(text).bold = True
    for values in rows:
        cells = table.add_row().cells
        for cell, value, width in zip(cells, values, widths, strict=True):
            cell.width = Mm(width)
            cell.paragraphs[0].add_run(str(value))
    return table


def _body(document, c):
    conv, comp = c["convocation"], c["composition"]
    _para(document, "Kính gửi: " + "; ".join(c["to"]) + ".", align=WD_ALIGN_PARAGRAPH.CENTER)
    if c["parent_line"]:
        _para(document, f"{c['parent_line']} {conv.issuer.name} trân trọng kính mời đơn vị tham dự hội nghị như sau:",
              indent=True)
    else:
        _para(document, f"{conv.issuer.name} trân trọng kính mời đơn vị tham dự {c['conference'].title} như sau:",
              indent=True)
    times = "; ".join(f"{s['title']}: từ {s['start']} đến {s['end']} ngày {s['day']}" for s in c["sessions"])
    _para(document, f"1. Thời gian: {times}.", indent=True)
    _para(document, f"2. Hình thức và địa điểm: trực tuyến, tại {len(c['points'])} điểm cầu của đơn vị (danh sách "
                    "điểm cầu và đơn vị được phân công tại Phụ lục kèm theo).", indent=True)
    if comp["composition"] or comp["named"] or comp["all_staff"]:
        who = (f"{comp['composition']} đoàn theo cơ cấu, tối thiểu {comp['management']} cán bộ quản lý, "
               f"{comp['teachers']} giáo viên, {comp['staff']} nhân viên; {comp['named']} đoàn cử đích danh; "
               f"{comp['all_staff']} đơn vị tham dự toàn thể")
    else:
        who = "lãnh đạo đơn vị, cán bộ quản lý, giáo viên và nhân viên theo phân công của đơn vị"
    _para(document, f"3. Thành phần: {who}.", indent=True)
    _para(document, "4. Chuẩn bị kỹ thuật: mỗi điểm cầu hoàn thành chạy thử và kiểm tra kỹ thuật theo lịch; "
                    "người phụ trách kỹ thuật:", indent=True)
    if c["points"]:
        _grid(document, ["STT", "Điểm cầu", "Người phụ trách kỹ thuật", "Điện thoại"],
              [(i, p.name, p.contact_name or "—", p.contact_phone or "—") for i, p in enumerate(c["points"], 1)],
              [12, 80, 45, 28])
    if conv.additions:
        _para(document, conv.additions, indent=True)
    if c["contact"]:
        _para(document, f"Thông tin liên hệ: {c['contact']}.", indent=True)
    if c["confirm_url"]:
        _para(document, f"Đề nghị đơn vị xác nhận đã nhận giấy mời tại địa chỉ: {c['confirm_url']}", indent=True)
    _para(document, "Trân trọng./.", indent=True)


def _signature(document, doc):
    table = document.add_table(rows=1, cols=2)
    left, right = table.rows[0].cells
    lines = [("Nơi nhận:", True, True, 12)] + [(f"- {r}", False, False, 11) for r in doc.recipients]
    _cell(left, lines)
    for p in left.paragraphs:
        p.alignment = WD_ALIGN_PARAGRAPH.LEFT
    sign = [(doc.signature.on_behalf, True, False, 13)] if doc.signature.on_behalf else []
    sign += [(doc.signature.title, True, False, 13), (doc.signature.note, False, True, 12), ("", False, False, 13),
             ("", False, False, 13), ("", False, False, 13), (doc.signature.name, True, False, 13)]
    _cell(right, sign)


def _appendix(document, c):
    doc = c["doc"]
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    _para(document, "PHỤ LỤC", bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(document, "Danh sách điểm cầu và đơn vị được phân công", bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(document, f"(Kèm theo Giấy mời số {doc.number or '…'}/{doc.symbol} ngày {doc.day:%d/%m/%Y} của "
                    f"{c['convocation'].issuer.name})", italic=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    for n, block in enumerate(c["blocks"], 1):
        s = block["session"]
        _para(document, f"{n}. {s.title}: {len(block['points'])} điểm cầu, {block['institutions']} đơn vị, "
                        f"{block['people']} người", bold=True)
        rows = []
        for i, r in enumerate(block["points"], 1):
            p = r["point"]
            rows.append((i, p.name, p.hall.full_address or "", p.contact_name or "", f"{r['used']}/{p.capacity}"))
            rows += [(f"{i}.{j}", a.institution.name, "", "", a.seats) for j, a in enumerate(r["assignments"], 1)]
        _grid(document, ["STT", "Điểm cầu / Đơn vị được phân công", "Địa chỉ", "Phụ trách kỹ thuật",
                         "Số người / Số chỗ"], rows, [12, 62, 40, 30, 21])


def convocation_docx(c: dict) -> bytes:
    """The .docx bytes of a convocation from its context (:func:`.convocation.convocation_context`)."""
    doc = c["doc"]
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    style = document.styles["Normal"]
    style.font.name, style.font.size = FONT, Pt(13)
    document.core_properties.title = f"{doc.kind} {doc.title}"
    document.core_properties.language = "vi-VN"
    _heading(document, doc)
    _para(document, doc.kind, bold=True, size=14, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(document, doc.title, bold=True, size=14, align=WD_ALIGN_PARAGRAPH.CENTER)
    _body(document, c)
    _signature(document, doc)
    _appendix(document, c)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
