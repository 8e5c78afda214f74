"""A message sender for tests that run the task consumer in another process
(DTECH_MESSAGE_SENDER=tests.file_sender:FileSender): each message it is given is appended as a JSON line to the
file named by DTECH_TEST_SENDER_FILE."""

import json
import os
from dataclasses import asdict


class FileSender:
    def __init__(self, config) -> None:
        self.path = os.environ["DTECH_TEST_SENDER_FILE"]

    def send(self, message) -> None:
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(message)) + "\n")
