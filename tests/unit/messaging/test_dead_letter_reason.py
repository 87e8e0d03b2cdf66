"""A dead letter's reason says what was wrong without quoting the message (it is logged)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.events import Envelope
from shared.messaging.consumer import _one_line


def test_a_validation_error_reason_names_the_problem_but_not_the_input() -> None:
    with pytest.raises(ValidationError) as caught:
        Envelope.from_bytes(b'{"specversion": "1.0", "id": "x", "data": "my password is hunter2')
    reason = _one_line(caught.value)
    assert reason.startswith("ValidationError: 1 validation error(s) for Envelope: ")
    assert "json_invalid" in reason
    assert "hunter2" not in reason and "hunter2" in str(caught.value), "pydantic's own text would have leaked it"
