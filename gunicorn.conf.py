"""gunicorn's settings for the marketplace, read by every gunicorn started from this folder
(gunicorn looks for ./gunicorn.conf.py; `make run` also names it). Options on the command line
still win.

Two things gunicorn does not get right for us on its own:

- Its control socket (`gunicornc`) is one path per user, so a second copy started beside the
  first takes the socket over, and `gunicornc` then drives the wrong server. Each copy's
  socket lives in its own instance folder, found as the app finds it.
- Requests it refuses before the app sees them (a request line or header over its limits, a
  malformed request line) get an HTML page. Under /api every error is problem+json that no
  browser sniffs and no cache keeps, so its error page is written as one; at that point
  gunicorn has not parsed a path, so every such answer is problem+json.
"""

import json

from gunicorn import util

from marketplace.config import instance_path

control_socket = str(instance_path() / "gunicorn.ctl")


def write_problem(sock, status_int, reason, mesg):
    """gunicorn's util.write_error, with an RFC 9457 body and the headers of marketplace.problems."""
    body = json.dumps({"type": "about:blank", "title": reason, "status": status_int, "detail": mesg or reason})
    head = (f"HTTP/1.1 {status_int} {reason}\r\n"
            "Connection: close\r\n"
            "Content-Type: application/problem+json\r\n"
            "X-Content-Type-Options: nosniff\r\n"
            "Cache-Control: no-store\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, (head + body).encode("ascii"))  # json.dumps escapes all else


util.write_error = write_problem
