"""Text and lines on a page: fonts at a size that fits, one-line boxes, wrapped paragraphs cut short with …"""

from fpdf import FPDF

from app.pdf.fonts import LATIN
from app.pdf.page import BRAND, MARGIN, RULE, TEXT


def use_font(pdf: FPDF, size: float, bold: bool = False, colour: tuple[int, int, int] = TEXT) -> None:
    pdf.set_font(LATIN, "B" if bold else "", size)
    pdf.set_text_color(*colour)


def shrink_to_fit(pdf: FPDF, text: str, width: float, size: float, bold: bool = False, smallest: float = 6) -> None:
    """Set the largest font size (down to `smallest`) at which `text` fits in `width`; the colour stays."""
    pdf.set_font(LATIN, "B" if bold else "", size)
    while size > smallest and pdf.get_string_width(text) > width:
        size -= 0.5
        pdf.set_font_size(size)


def put(pdf: FPDF, x: float, y: float, w: float, h: float, text: str, align: str = "L") -> None:
    """One line of text in a box; all text on the bill goes through here."""
    pdf.set_xy(x, y)
    pdf.cell(w, h, text, align=align)
    # fpdf2 2.8.9 (py-pdf/fpdf2#1772): a line that starts in the fallback font sets the page's font inside a
    # q…Q block that ends with the line, yet remembers it as set, so the next text in that font came out as
    # garbage. Forgetting it makes the next cell set its font again.
    pdf.current_font_is_set_on_page = False


def wrap(pdf: FPDF, text: str, w: float) -> list[str]:
    """`text` broken into lines that fit `w` in the current font (nothing is drawn)."""
    return pdf.multi_cell(w, text=text, dry_run=True, output="LINES")


def write_lines(
    pdf: FPDF, x: float, y: float, w: float, text: str, line_h: float, max_lines: int = 4, align: str = "L"
) -> float:
    """`text` wrapped into `w`, at most `max_lines` lines, in the current font; returns the y below it."""
    for line in wrap(pdf, text, w)[:max_lines]:
        put(pdf, x, y, w, line_h, line, align)
        y += line_h
    return y


def rule(pdf: FPDF, x: float, y: float, w: float, colour: tuple[int, int, int] = RULE, width: float = 0.2) -> None:
    pdf.set_draw_color(*colour)
    pdf.set_line_width(width)
    pdf.line(x, y, x + w, y)


def section_title(pdf: FPDF, x: float, y: float, w: float, text: str) -> float:
    use_font(pdf, 10, bold=True, colour=BRAND)
    put(pdf, x, y, w, 6, text)
    rule(pdf, x, y + 6.5, w, BRAND, 0.4)
    return y + 8


def draw_utility_name(pdf: FPDF, name: str, width: float) -> None:
    """One line from 16 pt down to 12 pt; a longer name takes two lines."""
    pdf.set_text_color(255, 255, 255)
    shrink_to_fit(pdf, name, width, 16, bold=True, smallest=12)
    if pdf.get_string_width(name) <= width:
        put(pdf, MARGIN, 6, width, 8, name)
    else:
        draw_wrapped(pdf, MARGIN, 3, width, name, max_lines=2, size=12, bold=True, colour=(255, 255, 255), line_h=5.2)


def draw_wrapped(
    pdf: FPDF,
    x: float,
    y: float,
    w: float,
    text: str,
    max_lines: int,
    size: float = 9,
    bold: bool = False,
    colour: tuple[int, int, int] = TEXT,
    line_h: float = 4.5,
) -> float:
    """`text` in up to `max_lines` lines, in a smaller font (down to 7.5 pt) if it needs it, cut short with …
    if even that is not enough; returns the y below it."""
    use_font(pdf, size, bold, colour)
    lines = wrap(pdf, text, w)
    while len(lines) > max_lines and size > 7.5:
        size -= 0.5
        pdf.set_font_size(size)
        lines = wrap(pdf, text, w)
    if len(lines) > max_lines:
        lines = lines[: max_lines - 1] + [shorten(pdf, lines[max_lines - 1], w)]
    for line in lines:
        put(pdf, x, y + 0.25, w, line_h, line)
        y += line_h
    return y + 0.5


def shorten(pdf: FPDF, line: str, w: float) -> str:
    """`line` with an ellipsis at its end, as many of its words as fit in `w` with it."""
    words = line.split()
    while len(words) > 1 and pdf.get_string_width(" ".join(words) + " …") > w:
        words.pop()
    return " ".join(words) + " …"
