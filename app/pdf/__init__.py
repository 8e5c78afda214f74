"""The PDF kit that bills and receipts share: fonts and shaping (fonts), the page grid and colours (page),
text and layout helpers (text), amounts (formats). Pure: no Flask request, no database."""
