"""The server side of RFC 6455 WebSockets, just enough to play Slack's Socket Mode endpoint.

`SlackStandIn` upgrades an HTTP GET on its own loopback server and hands the socket to a
`WebSocketConnection`, which reads masked client frames on the request thread (answering pings,
reassembling fragments, honouring close) while tests write unmasked server frames to it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_NO_STATUS = 1005
CLOSE_INVALID_DATA = 1007
CLOSE_TOO_BIG = 1009

_ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_MAX_CONTROL_PAYLOAD = 125
# How long a peer that broke the protocol gets to answer our close frame before we hang up.
_CLOSE_WAIT_SECONDS = 1.0
# Socket Mode payloads are JSON documents well under this; a bigger message means a framing bug.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class ProtocolError(Exception):
    """The peer broke RFC 6455; `code` is the close status to answer with."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Frame:
    """One frame as it was on the wire, payload already unmasked."""

    fin: bool
    opcode: int
    payload: bytes
    masked: bool
    rsv: int = 0


def accept_key(key: str) -> str:
    """The `Sec-WebSocket-Accept` value that proves the server read `Sec-WebSocket-Key`."""
    return base64.b64encode(hashlib.sha1(key.strip().encode("ascii") + _ACCEPT_GUID).digest()).decode()


def handshake_problem(request_version: str, headers: Message) -> tuple[int, str] | None:
    """Why an upgrade request is not a valid RFC 6455 opening handshake, as (HTTP status, reason)."""
    if request_version != "HTTP/1.1":
        return 400, "websocket_requires_http_1_1"
    if "websocket" not in (headers.get("Upgrade") or "").lower():
        return 426, "upgrade_required"
    connection_tokens = {t.strip().lower() for t in (headers.get("Connection") or "").split(",")}
    if "upgrade" not in connection_tokens:
        return 400, "connection_upgrade_required"
    if (headers.get("Sec-WebSocket-Version") or "").strip() != "13":
        return 426, "unsupported_websocket_version"
    try:
        nonce = base64.b64decode((headers.get("Sec-WebSocket-Key") or "").strip(), validate=True)
    except (binascii.Error, ValueError):
        nonce = b""
    if len(nonce) != 16:
        return 400, "invalid_websocket_key"
    return None


def encode_frame(opcode: int, payload: bytes = b"", *, fin: bool = True, mask: bytes | None = None) -> bytes:
    """One frame; servers send unmasked frames, clients (and tests playing one) pass a 4-byte `mask`."""
    head = bytearray([(0x80 if fin else 0) | opcode])
    mask_bit = 0x80 if mask is not None else 0
    length = len(payload)
    if length < 126:
        head.append(mask_bit | length)
    elif length < 1 << 16:
        head.append(mask_bit | 126)
        head += struct.pack("!H", length)
    else:
        head.append(mask_bit | 127)
        head += struct.pack("!Q", length)
    if mask is None:
        return bytes(head) + payload
    if len(mask) != 4:
        raise ValueError("a frame mask is 4 bytes")
    return bytes(head) + mask + _unmask(payload, mask)


def _unmask(payload: bytes, mask: bytes) -> bytes:
    # One big-int XOR instead of a per-byte loop; masking is its own inverse.
    if not payload:
        return payload
    key = (mask * (len(payload) // 4 + 1))[: len(payload)]
    value = int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")
    return value.to_bytes(len(payload), "big")


def read_frame(read: Callable[[int], bytes], max_payload: int = MAX_MESSAGE_BYTES) -> Frame | None:
    """Read one frame with `read(n)` (which must block for n bytes); None at end of stream.

    A stream that ends part-way through a frame also gives None: the peer is gone either way.
    """

    def exactly(count: int) -> bytes | None:
        data = read(count) if count else b""
        return data if len(data) == count else None

    head = exactly(2)
    if head is None:
        return None
    first, second = head
    length = second & 0x7F
    if length == 126:
        extended = exactly(2)
        if extended is None:
            return None
        length = struct.unpack("!H", extended)[0]
    elif length == 127:
        extended = exactly(8)
        if extended is None:
            return None
        length = struct.unpack("!Q", extended)[0]
        if length >> 63:
            raise ProtocolError(CLOSE_PROTOCOL_ERROR, "payload length has the most significant bit set")
    if length > max_payload:
        raise ProtocolError(CLOSE_TOO_BIG, "frame too big")
    masked = bool(second & 0x80)
    mask = exactly(4) if masked else b""
    payload = exactly(length)
    if mask is None or payload is None:
        return None
    return Frame(
        fin=bool(first & 0x80),
        opcode=first & 0x0F,
        payload=_unmask(payload, mask) if masked else payload,
        masked=masked,
        rsv=first & 0x70,
    )


class WebSocketConnection:
    """The server end of one upgraded connection.

    `run()` reads until the peer closes or breaks the protocol and must be called by exactly one
    thread; `send_text`, `close` and `abort` may be called from any thread.
    """

    def __init__(
        self,
        sock: socket.socket,
        read: Callable[[int], bytes],
        on_text: Callable[[WebSocketConnection, str], None],
        *,
        name: str = "",
    ) -> None:
        self.name = name
        self._sock = sock
        self._read = read
        self._on_text = on_text
        self._send_lock = threading.Lock()
        self._close_sent = False
        self.finished = threading.Event()
        self.close_code: int | None = None  # what the peer sent in its close frame, if it sent one

    @property
    def close_sent(self) -> bool:
        """True once this side has sent its close frame (no more data may follow it)."""
        return self._close_sent

    def send_text(self, text: str) -> None:
        """Send one text message as a single unfragmented frame.

        Never fragmented: slack_sdk's builtin client has no continuation-frame support and would
        hand the first fragment to the app as if it were the whole message.
        """
        self._send(OP_TEXT, text.encode("utf-8"))

    def ping(self, payload: bytes = b"") -> None:
        """Send a ping; the peer should answer with a pong carrying the same payload."""
        self._send(OP_PING, payload)

    def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """Send a close frame once; the reader keeps going until the peer closes too (or `abort`)."""
        # Control payloads max out at 125 bytes; cut the reason without splitting a UTF-8 sequence.
        reason_bytes = reason.encode("utf-8")[:123].decode("utf-8", errors="ignore").encode("utf-8")
        payload = b"" if code == CLOSE_NO_STATUS else struct.pack("!H", code) + reason_bytes
        with self._send_lock:
            if self._close_sent:
                return
            self._close_sent = True
            try:
                self._sock.sendall(encode_frame(OP_CLOSE, payload))
            except OSError:
                pass  # the peer already went away; there is nobody left to tell

    def abort(self) -> None:
        """Drop the TCP connection without further ado; unblocks `run()`."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already disconnected

    def _send(self, opcode: int, payload: bytes) -> None:
        with self._send_lock:
            if self._close_sent:
                raise ConnectionError(f"websocket {self.name} is closing")
            self._sock.sendall(encode_frame(opcode, payload))

    def run(self) -> None:
        """Serve frames until the connection ends; sets `finished` on the way out."""
        try:
            self._read_loop()
        except ProtocolError as exc:
            self.close(exc.code, exc.reason)
            self._await_peer_close()
        except OSError:
            pass  # reset or aborted: the same as the peer hanging up
        finally:
            self.finished.set()

    def _await_peer_close(self) -> None:
        """Discard frames until the peer's close (bounded): hanging up with its data unread would
        reset the connection, and a reset can destroy our close frame before the peer reads it."""
        deadline = time.monotonic() + _CLOSE_WAIT_SECONDS
        try:
            self._sock.settimeout(_CLOSE_WAIT_SECONDS)
            while time.monotonic() < deadline:
                frame = read_frame(self._read)
                if frame is None or frame.opcode == OP_CLOSE:
                    return
        except (OSError, ProtocolError):
            pass  # timed out or more garbage: either way we are done listening

    def _read_loop(self) -> None:
        fragments: list[bytes] | None = None
        message_opcode = OP_TEXT
        size = 0
        while True:
            frame = read_frame(self._read)
            if frame is None:
                return
            if frame.rsv:
                raise ProtocolError(CLOSE_PROTOCOL_ERROR, "no extension was negotiated")
            if not frame.masked:
                raise ProtocolError(CLOSE_PROTOCOL_ERROR, "client frames must be masked")
            if frame.opcode >= OP_CLOSE:
                if self._control(frame):
                    return
                continue
            # Data frames: a message is a first frame (text/binary) plus continuations up to FIN.
            if frame.opcode == OP_CONTINUATION:
                if fragments is None:
                    raise ProtocolError(CLOSE_PROTOCOL_ERROR, "continuation frame outside a message")
                fragments.append(frame.payload)
            elif frame.opcode in (OP_TEXT, OP_BINARY):
                if fragments is not None:
                    raise ProtocolError(CLOSE_PROTOCOL_ERROR, "new message before the previous one ended")
                fragments, message_opcode, size = [frame.payload], frame.opcode, 0
            else:
                raise ProtocolError(CLOSE_PROTOCOL_ERROR, f"unknown opcode {frame.opcode:#x}")
            size += len(frame.payload)
            if size > MAX_MESSAGE_BYTES:
                raise ProtocolError(CLOSE_TOO_BIG, "message too big")
            if not frame.fin:
                continue
            data, fragments = b"".join(fragments), None
            # Acks can still arrive after our close frame; they count, so keep reading them.
            if message_opcode == OP_TEXT:
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise ProtocolError(CLOSE_INVALID_DATA, "text message is not UTF-8") from exc
                self._on_text(self, text)
            # Binary messages have no meaning in Socket Mode; like Slack, ignore them.

    def _control(self, frame: Frame) -> bool:
        """Handle a control frame; True when it ends the connection."""
        if not frame.fin or len(frame.payload) > _MAX_CONTROL_PAYLOAD:
            raise ProtocolError(CLOSE_PROTOCOL_ERROR, "control frames must be short and unfragmented")
        if frame.opcode == OP_PING:
            try:
                self._send(OP_PONG, frame.payload)
            except ConnectionError:
                pass  # we are closing; a pong may no longer be sent
            return False
        if frame.opcode == OP_PONG:
            return False
        if frame.opcode != OP_CLOSE:
            raise ProtocolError(CLOSE_PROTOCOL_ERROR, f"unknown opcode {frame.opcode:#x}")
        if len(frame.payload) == 1:
            raise ProtocolError(CLOSE_PROTOCOL_ERROR, "close payload of one byte")
        code = struct.unpack("!H", frame.payload[:2])[0] if frame.payload else CLOSE_NO_STATUS
        self.close_code = code
        # Echo the status (RFC 6455 5.5.1); then the server closes TCP first.
        self.close(code)
        return True
