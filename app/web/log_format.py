"""The JSON log line, with the standard library only: gunicorn's master loads this file by its path
(gunicorn.conf.py) for its own lines. Importing it as app.web.… would import the app package into the master, and
workers forked after a reload (HUP) would keep that old code beside the new."""

import json
import logging
from datetime import UTC, datetime

# The fields a line may carry besides the message, in this order (an access line has all of them).
CONTEXT_FIELDS = ("request_id", "user_id", "method", "route", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)
