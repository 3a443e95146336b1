#!/usr/bin/env python3
"""Minimal WebSocket client (RFC 6455) for the API integration test: connects to /api/ws with a
cookie or bearer header, subscribes to channels and prints the JSON of every message received
within a few seconds, one per line. Exit 2 when the upgrade is refused (prints the status)."""
import base64, json, os, socket, struct, sys, time

host, port, auth_header, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[5])
channels = sys.argv[4].split(",")
s = socket.create_connection((host, port), timeout=5)
key = base64.b64encode(os.urandom(16)).decode()
extra = f"{auth_header}\r\n" if auth_header else ""
s.sendall((f"GET /api/ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
           f"{extra}\r\n").encode())
head = b""
while b"\r\n\r\n" not in head:
    chunk = s.recv(1)
    if not chunk:
        break
    head += chunk
status = int(head.split()[1]) if head else 0
if status != 101:
    print(status)
    sys.exit(2)

def send_text(text):
    payload = text.encode()
    mask = os.urandom(4)
    n = len(payload)
    hdr = bytes([0x81, 0x80 | n]) if n < 126 else bytes([0x81, 0x80 | 126]) + struct.pack(">H", n)
    s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

def recv_exact(n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise EOFError
        out += chunk
    return out

send_text(json.dumps({"subscribe": channels}))
end = time.time() + seconds
while time.time() < end:
    s.settimeout(max(0.1, end - time.time()))
    try:
        b1, b2 = recv_exact(2)
    except (socket.timeout, EOFError):
        break
    n = b2 & 0x7F
    if n == 126:
        n = struct.unpack(">H", recv_exact(2))[0]
    elif n == 127:
        n = struct.unpack(">Q", recv_exact(8))[0]
    data = recv_exact(n)
    if b1 & 0x0F == 1:
        print(data.decode())
