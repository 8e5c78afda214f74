"""The page grid (millimetres) and the colours (RGB) that bills and receipts share."""

PAGE_W, PAGE_H = 210, 297
MARGIN = 12
CONTENT_W = PAGE_W - 2 * MARGIN
HEADER_H = 30
FOOTER_Y = 282

BRAND = (16, 63, 112)
BRAND_LIGHT = (232, 240, 250)
TEXT = (33, 37, 41)
MUTED = (100, 110, 122)
RULE = (205, 212, 220)
SHADE = (243, 245, 248)
BAR = (176, 192, 210)
GOOD = (22, 120, 60)
WARN = (176, 96, 0)
STAMP = (200, 30, 30)
HEADER_MUTED = (214, 226, 240)
