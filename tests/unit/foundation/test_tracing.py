from shared.tracing import continue_or_start, new_trace, parse_traceparent

VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_a_valid_traceparent_is_parsed() -> None:
    trace = parse_traceparent(VALID)
    assert trace is not None
    assert (trace.trace_id, trace.span_id, trace.flags) == (
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7",
        "01",
    )
    assert trace.traceparent() == VALID


def test_invalid_traceparents_are_ignored() -> None:
    for value in (None, "", "garbage", "00-" + "0" * 32 + "-00f067aa0ba902b7-01", VALID.replace("00-", "zz-", 1)):
        assert parse_traceparent(value) is None


def test_a_hop_keeps_the_trace_and_gets_a_new_span() -> None:
    child = continue_or_start(VALID)
    assert child.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert child.span_id != "00f067aa0ba902b7"


def test_without_a_parent_a_new_trace_starts() -> None:
    assert continue_or_start(None).trace_id != new_trace().trace_id
