"""Tests of the DAP framing, dispatch, arguments, schema and transports."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from dap_client import DapClient
from mini_adapter import CAPABILITIES, MiniSession

from adapter.arguments import ERROR_INTERNAL, ERROR_UNSUPPORTED_REQUEST
from adapter.protocol import (
    Arguments,
    Connection,
    Deferred,
    FramingError,
    InvalidMessageError,
    MessageReader,
    RequestError,
    TcpServer,
    encode_message,
    serve_tcp,
)
from adapter.schema import MessageValidationError, capability_names, validate_message

MINI_ADAPTER = str(Path(__file__).with_name("mini_adapter.py"))


def frame(body: str | bytes) -> bytes:
    data = body.encode() if isinstance(body, str) else body
    return b"Content-Length: %d\r\n\r\n" % len(data) + data


def request(seq: int, command: str, arguments: Any = None) -> dict[str, Any]:
    message: dict[str, Any] = {"seq": seq, "type": "request", "command": command}
    if arguments is not None:
        message["arguments"] = arguments
    return message


def serve(handler_factory: Any, *requests: dict[str, Any]) -> list[dict[str, Any]]:
    """Serve the requests from memory and return the adapter's messages, validated."""
    data = b"".join(encode_message(r) for r in requests)
    output = io.BytesIO()
    Connection(io.BytesIO(data), output, handler_factory).serve()
    reader = MessageReader()
    reader.feed(output.getvalue())
    messages = list(reader)
    for message in messages:
        validate_message(message)
    return messages


# Framing


def test_reader_joins_split_chunks() -> None:
    data = frame('{"seq":1,"type":"request","command":"threads"}')
    reader = MessageReader()
    for byte in data[:-1]:
        reader.feed(bytes([byte]))
        assert reader.next_message() is None
    reader.feed(data[-1:])
    assert reader.next_message() == request(1, "threads")
    assert reader.buffered == 0


def test_reader_splits_one_chunk_into_messages() -> None:
    reader = MessageReader()
    reader.feed(encode_message(request(1, "threads")) + encode_message(request(2, "x")))
    assert [m["seq"] for m in reader] == [1, 2]


def test_reader_counts_utf8_bytes() -> None:
    body = '{"seq":1,"type":"request","command":"evaluate","arguments":{"e":"ü€😀"}}'
    data = frame(body)
    assert data.startswith(b"Content-Length: %d\r\n" % (len(body) + 1 + 2 + 3))
    reader = MessageReader()
    reader.feed(data + data[:10])
    message = reader.next_message()
    assert message is not None
    assert message["arguments"] == {"e": "ü€😀"}
    assert reader.buffered == 10


def test_encode_message_counts_utf8_bytes() -> None:
    data = encode_message({"seq": 1, "type": "event", "event": "é"})
    assert (
        data == b'Content-Length: 37\r\n\r\n{"seq":1,"type":"event","event":"\xc3\xa9"}'
    )


def test_encode_message_rejects_nan() -> None:
    with pytest.raises(ValueError, match="event 1 'output' cannot be encoded"):
        encode_message(
            {"seq": 1, "type": "event", "event": "output", "x": float("nan")}
        )


def test_reader_ignores_extra_headers() -> None:
    body = json.dumps(request(1, "threads")).encode()
    reader = MessageReader()
    reader.feed(
        b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n"
        b"content-length: %d\r\n\r\n" % len(body) + body
    )
    assert reader.next_message() == request(1, "threads")


def test_reader_rejects_oversized_length() -> None:
    reader = MessageReader()
    reader.feed(b"Content-Length: 16777217\r\n\r\n{}")
    with pytest.raises(FramingError, match="16777217 exceeds the limit of 16777216"):
        reader.next_message()


def test_reader_accepts_length_at_limit() -> None:
    reader = MessageReader()
    reader.feed(b"Content-Length: 16777216\r\n\r\n{}")
    assert reader.next_message() is None


def test_reader_rejects_missing_length() -> None:
    reader = MessageReader()
    reader.feed(b"Content-Type: x\r\n\r\n{}")
    with pytest.raises(FramingError, match="missing Content-Length"):
        reader.next_message()


@pytest.mark.parametrize("value", ["abc", "-1", "+5", "1_0", "", "٣"])
def test_reader_rejects_invalid_length(value: str) -> None:
    reader = MessageReader()
    reader.feed(b"Content-Length: " + value.encode() + b"\r\n\r\n{}")
    with pytest.raises(FramingError, match="invalid Content-Length"):
        reader.next_message()


def test_reader_rejects_endless_header() -> None:
    reader = MessageReader()
    reader.feed(b"X" * 9000)
    with pytest.raises(FramingError, match="no blank line within the first 8192"):
        reader.next_message()


def test_reader_stays_failed_after_framing_error() -> None:
    reader = MessageReader()
    reader.feed(b"garbage\r\n\r\n")
    with pytest.raises(FramingError, match="invalid header line b'garbage'"):
        reader.next_message()
    with pytest.raises(FramingError):
        reader.feed(encode_message(request(1, "threads")))


def test_reader_skips_malformed_json() -> None:
    reader = MessageReader()
    reader.feed(frame("{bad json") + encode_message(request(2, "threads")))
    with pytest.raises(InvalidMessageError, match="not valid JSON"):
        reader.next_message()
    assert reader.next_message() == request(2, "threads")


def test_reader_rejects_non_object() -> None:
    reader = MessageReader()
    reader.feed(frame("[1, 2]"))
    with pytest.raises(InvalidMessageError, match="must be a JSON object, got list"):
        reader.next_message()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ('{"type": "request", "command": "x"}', "has no 'seq' field"),
        ('{"seq": true, "type": "request", "command": "x"}', "'seq' .* got true"),
        ('{"seq": 1, "command": "x"}', "has no 'type' field"),
        ('{"seq": 1, "type": "request"}', "request 1 None has no 'command'"),
        ('{"seq": 1, "type": "request", "command": 7}', "'command' .* got 7"),
        ('{"seq": 1, "type": "event"}', "has no 'event' field"),
        ('{"seq": 1, "type": "note"}', "type 'note', expected one of request"),
    ],
)
def test_reader_rejects_missing_fields(body: str, error: str) -> None:
    reader = MessageReader()
    reader.feed(frame(body))
    with pytest.raises(InvalidMessageError, match=error):
        reader.next_message()


# Dispatch


def test_unknown_command_gets_error_response() -> None:
    [response] = serve(MiniSession, request(1, "frobnicate"))
    assert response["request_seq"] == 1
    assert response["success"] is False
    assert response["message"] == "unsupported request 'frobnicate'"
    assert response["body"]["error"]["id"] == ERROR_UNSUPPORTED_REQUEST


def test_non_identifier_command_is_unsupported() -> None:
    [response] = serve(MiniSession, request(1, "__class__.x"))
    assert response["message"] == "unsupported request '__class__.x'"


def test_handler_returns_body() -> None:
    [response] = serve(MiniSession, request(1, "initialize", {"adapterID": "pomdp"}))
    assert response["success"] is True
    assert response["body"] == CAPABILITIES


def test_request_error_becomes_error_response() -> None:
    [response] = serve(MiniSession, request(1, "fail"))
    assert response["success"] is False
    assert response["message"] == "failed on purpose"
    error = {"id": 4242, "format": "failed on purpose", "showUser": False}
    assert response["body"] == {"error": error}


def test_handler_exception_keeps_serving() -> None:
    crash, evaluate = serve(
        MiniSession, request(1, "crash"), request(2, "evaluate", {"expression": "b"})
    )
    assert crash["success"] is False
    assert "ZeroDivisionError: division by zero in the handler" in crash["message"]
    assert crash["body"]["error"]["id"] == ERROR_INTERNAL
    assert evaluate["success"] is True
    assert evaluate["body"]["result"] == "B"


def test_wrong_argument_type_gets_error_response() -> None:
    [response] = serve(MiniSession, request(1, "evaluate", {"expression": 5}))
    assert response["success"] is False
    assert response["message"] == (
        "argument 'expression' of request 'evaluate' must be a string, got number 5"
    )


def test_arguments_must_be_object() -> None:
    [response] = serve(MiniSession, request(1, "evaluate", [1]))
    assert response["message"] == (
        "arguments of request 'evaluate' must be an object, got array"
    )


def test_deferred_launch_answers_after_configuration_done() -> None:
    messages = serve(MiniSession, request(1, "launch"), request(2, "configurationDone"))
    kinds = [(m["type"], m.get("event") or m.get("command")) for m in messages]
    assert kinds == [
        ("event", "initialized"),
        ("response", "launch"),
        ("response", "configurationDone"),
    ]
    assert messages[1]["request_seq"] == 1
    assert messages[1]["success"] is True


def test_unresolved_deferred_sends_nothing() -> None:
    messages = serve(MiniSession, request(1, "launch"))
    assert [m["type"] for m in messages] == ["event"]


def test_deferred_rejects_second_answer() -> None:
    deferred = Deferred()
    deferred.resolve({"a": 1})
    with pytest.raises(RuntimeError, match="already resolved"):
        deferred.reject("late")


def test_deferred_reject_sends_error() -> None:
    class Session(MiniSession):
        def on_launch(self, args: Arguments) -> Deferred:
            deferred = Deferred()
            deferred.reject("scenario not found")
            return deferred

    [response] = serve(Session, request(1, "launch"))
    assert response["success"] is False
    assert response["message"] == "scenario not found"


def test_unencodable_body_becomes_error() -> None:
    class Session(MiniSession):
        def on_threads(self, args: Arguments) -> dict[str, Any]:
            return {"threads": [], "belief": float("nan")}

    [response] = serve(Session, request(1, "threads"))
    assert response["success"] is False
    assert (
        "response 1 to 'threads' (request 1) cannot be encoded" in response["message"]
    )


def test_handler_returning_list_is_internal_error() -> None:
    class Session(MiniSession):
        def on_threads(self, args: Arguments) -> list[int]:
            return [1]

    [response] = serve(Session, request(1, "threads"))
    assert response["message"].endswith("TypeError: handler returned list")


def test_after_response_runs_after_response() -> None:
    class Session(MiniSession):
        def on_initialize(self, args: Arguments) -> dict[str, Any]:
            send = self.connection.send_event
            self.connection.after_response(lambda: send("initialized"))
            return {}

    messages = serve(Session, request(1, "initialize", {"adapterID": "pomdp"}))
    assert [m["type"] for m in messages] == ["response", "event"]
    assert messages[1]["event"] == "initialized"


def test_after_response_dropped_on_error() -> None:
    class Session(MiniSession):
        def on_initialize(self, args: Arguments) -> dict[str, Any]:
            send = self.connection.send_event
            self.connection.after_response(lambda: send("initialized"))
            raise RequestError("unsupported client")

    messages = serve(Session, request(1, "initialize", {"adapterID": "pomdp"}))
    assert [m["type"] for m in messages] == ["response"]


def test_seq_increases_by_one() -> None:
    messages = serve(
        MiniSession,
        request(1, "launch"),
        request(2, "configurationDone"),
        request(3, "x"),
    )
    assert [m["seq"] for m in messages] == [1, 2, 3, 4]


def test_concurrent_events_keep_seq_order() -> None:
    output = io.BytesIO()
    connection = Connection(io.BytesIO(), output, MiniSession)

    def send_many() -> None:
        for _ in range(50):
            connection.send_event("output", {"output": "x" * 100})

    threads = [threading.Thread(target=send_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reader = MessageReader()
    reader.feed(output.getvalue())
    assert [m["seq"] for m in reader] == list(range(1, 401))


def test_messages_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="adapter.connection")
    serve(MiniSession, request(1, "threads"))
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert debug[0].startswith('dap: received {"seq": 1, "type": "request"')
    assert debug[1].startswith('dap: sent {"seq":1,"type":"response"')


def test_framing_error_ends_serving() -> None:
    sessions: list[MiniSession] = []

    def factory(connection: Connection) -> MiniSession:
        sessions.append(MiniSession(connection))
        return sessions[-1]

    data = encode_message(request(1, "threads")) + b"Content-Length: x\r\n\r\n"
    connection = Connection(io.BytesIO(data), io.BytesIO(), factory)
    with pytest.raises(FramingError):
        connection.serve()
    assert isinstance(sessions[0].lost[0], FramingError)


def test_end_of_input_reports_lost_connection() -> None:
    connection = Connection(io.BytesIO(), io.BytesIO(), MiniSession)
    connection.serve()
    session = connection.handler
    assert isinstance(session, MiniSession)
    assert session.lost == [None]
    assert connection.send_event("output", {"output": "late"}) is None


# Arguments


def make_arguments(**values: Any) -> Arguments:
    return Arguments(values, command="stackTrace")


def test_get_int_returns_value() -> None:
    assert make_arguments(levels=20).get_int("levels") == 20


def test_get_int_default_when_missing_or_null() -> None:
    assert make_arguments().get_int("levels", 0) == 0
    assert make_arguments(levels=None).get_int("levels", None) is None


def test_get_int_missing_names_argument() -> None:
    with pytest.raises(RequestError) as error:
        make_arguments().get_int("threadId")
    assert error.value.message == (
        "missing argument 'threadId' of request 'stackTrace', expected an integer"
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [(True, "boolean true"), (1.5, "number 1.5"), ("3", 'string "3"')],
)
def test_get_int_rejects_other_types(value: Any, shown: str) -> None:
    with pytest.raises(RequestError) as error:
        make_arguments(levels=value).get_int("levels", 0)
    assert error.value.message == (
        f"argument 'levels' of request 'stackTrace' must be an integer, got {shown}"
    )


def test_get_float_accepts_integer() -> None:
    value = make_arguments(threshold=1).get_float("threshold")
    assert value == 1.0
    assert isinstance(value, float)


def test_get_bool_rejects_integer() -> None:
    with pytest.raises(RequestError, match="must be a boolean, got number 1"):
        make_arguments(noDebug=1).get_bool("noDebug", False)


def test_get_str_rejects_null_without_default() -> None:
    with pytest.raises(RequestError, match="must be a string, got null"):
        make_arguments(program=None).get_str("program")


def test_get_dict_names_nested_path() -> None:
    source = make_arguments(source={"path": 3}).get_dict("source")
    with pytest.raises(RequestError) as error:
        source.get_str("path")
    assert error.value.message == (
        "argument 'source.path' of request 'stackTrace' must be a string, got number 3"
    )


def test_get_list_checks_items() -> None:
    arguments = make_arguments(lines=[3, 7], breakpoints=[{"line": 3}, 4])
    assert arguments.get_list("lines", item_type=int) == [3, 7]
    with pytest.raises(RequestError, match="'breakpoints\\[1\\]' .* an object, got"):
        arguments.get_list("breakpoints", item_type=dict)


def test_get_list_wraps_object_items() -> None:
    arguments = make_arguments(breakpoints=[{"line": "3"}])
    [breakpoint] = arguments.get_list("breakpoints", item_type=dict)
    with pytest.raises(RequestError, match="'breakpoints\\[0\\].line' of request"):
        breakpoint.get_int("line")


# Schema


def initialize_response(**changes: Any) -> dict[str, Any]:
    response = {
        "seq": 1,
        "type": "response",
        "request_seq": 1,
        "success": True,
        "command": "initialize",
        "body": {"supportsConfigurationDoneRequest": True},
    }
    response.update(changes)
    return response


def test_schema_accepts_initialize_response() -> None:
    validate_message(initialize_response())


def test_schema_rejects_missing_request_seq() -> None:
    response = initialize_response()
    del response["request_seq"]
    with pytest.raises(MessageValidationError) as error:
        validate_message(response)
    assert "'request_seq' is a required property" in str(error.value)
    assert error.value.definition == "InitializeResponse"
    assert error.value.schema_path.startswith("#/definitions/InitializeResponse/")


def test_schema_checks_capability_types() -> None:
    response = initialize_response(body={"supportsStepBack": "yes"})
    with pytest.raises(MessageValidationError) as error:
        validate_message(response)
    assert error.value.message_path == "$.body.supportsStepBack"


def test_schema_checks_event_body() -> None:
    stopped = {"seq": 1, "type": "event", "event": "stopped", "body": {}}
    with pytest.raises(MessageValidationError, match="'reason' is a required"):
        validate_message(stopped)


def test_schema_accepts_custom_event() -> None:
    validate_message({"seq": 1, "type": "event", "event": "pomdbPlot", "body": [1]})


def test_capability_names_come_from_schema() -> None:
    names = capability_names()
    assert "supportsStepBack" in names
    assert "supportsConditionalBreakpoints" in names
    assert "supportsStepBackRequest" not in names
    assert set(CAPABILITIES) <= names


# Transports and the test client


def test_tcp_server_binds_loopback() -> None:
    server = TcpServer(0, MiniSession)
    try:
        host, port = server.address
        assert host == "127.0.0.1"
        assert port > 0
    finally:
        server.close()


def listening_addresses(port: int) -> list[str]:
    """Local addresses of listening TCP sockets on `port`, from /proc/net/tcp."""
    addresses = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, port_hex = local.split(":")
        if state == "0A" and int(port_hex, 16) == port:
            addresses.append(".".join(str(b) for b in reversed(bytes.fromhex(address))))
    return addresses


def test_serve_tcp_serves_on_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    thread = threading.Thread(
        target=serve_tcp, args=(0, MiniSession), kwargs={"max_clients": 1}
    )
    thread.start()
    deadline = time.monotonic() + 10
    err = ""
    while "listening on" not in err and time.monotonic() < deadline:
        time.sleep(0.02)
        err += capsys.readouterr().err
    port = int(err.split("listening on 127.0.0.1:")[1].split()[0])

    if Path("/proc/net/tcp").exists():
        assert listening_addresses(port) == ["127.0.0.1"]
    with DapClient.connect(port) as client:
        response = client.request("initialize", {"adapterID": "pomdp"})
        assert response["body"] == CAPABILITIES
    thread.join(5)
    assert not thread.is_alive()


def test_tcp_server_survives_bad_client(tcp_adapter: Any) -> None:
    port = tcp_adapter(MiniSession, max_clients=2).address[1]
    with DapClient.connect(port) as bad:
        bad.send_raw(b"Content-Length: -1\r\n\r\n")
        with pytest.raises(TimeoutError, match="the adapter closed the connection"):
            bad.request("initialize", {"adapterID": "pomdp"})
    with DapClient.connect(port) as good:
        assert good.request("initialize", {"adapterID": "pomdp"})["success"] is True


def test_client_flags_invalid_message(tcp_adapter: Any) -> None:
    class Session(MiniSession):
        def on_pause(self, args: Arguments) -> None:
            self.connection.send_event("stopped", {"threadId": 1})

    with DapClient.connect(tcp_adapter(Session).address[1]) as client:
        client.send_request("pause", {"threadId": 1})
        with pytest.raises(MessageValidationError, match="event 1 'stopped'"):
            client.wait_event("stopped")


def test_client_finds_buffered_event(tcp_adapter: Any) -> None:
    with DapClient.connect(tcp_adapter(MiniSession).address[1]) as client:
        client.request("output", {"text": "hello"})
        assert client.wait_event("output")["body"]["output"] == "hello"
        with pytest.raises(TimeoutError, match="timed out after 0.2 s"):
            client.wait_event("output", timeout=0.2)
        assert len(client.events("output")) == 1


def test_stdio_keeps_stdout_for_frames(dap_client_factory: Any) -> None:
    client = dap_client_factory([sys.executable, MINI_ADAPTER])
    assert client.request("noise")["success"] is True
    assert client.request("initialize", {"adapterID": "pomdp"})["success"] is True
    assert client.close() == 0
    assert "noise from print" in client.stderr
    assert "noise from file descriptor 1" in client.stderr
    assert "noise from a child process" in client.stderr
    assert "adapter.connection:stdio: sent" in client.stderr


def test_stdio_launch_sequence_order(dap_client_factory: Any) -> None:
    client = dap_client_factory([sys.executable, MINI_ADAPTER])
    client.request("initialize", {"adapterID": "pomdp"})
    launch_seq = client.send_request("launch", {})
    client.wait_event("initialized")
    client.request("configurationDone")
    assert client.wait_response(launch_seq)["success"] is True
    order = [m.get("event") or m["command"] for m in client.messages]
    assert order == ["initialize", "initialized", "launch", "configurationDone"]


def test_stdio_skips_malformed_frame(dap_client_factory: Any) -> None:
    client = dap_client_factory([sys.executable, MINI_ADAPTER])
    client.send_raw(frame("{not json"))
    response = client.request("evaluate", {"expression": "ok"})
    assert response["body"]["result"] == "OK"
    client.request("disconnect")
    assert client.close() == 0
    assert "skipped an invalid message: message body is not valid JSON" in client.stderr


def test_stdio_exits_on_framing_error(dap_client_factory: Any) -> None:
    client = dap_client_factory([sys.executable, MINI_ADAPTER])
    client.send_raw(b"Content-Length: 99999999999\r\n\r\n")
    with pytest.raises(TimeoutError, match="the adapter closed the connection"):
        client.request("initialize", {"adapterID": "pomdp"})
    assert client.close() == 1
    assert "exceeds the limit of 16777216 bytes" in client.stderr
