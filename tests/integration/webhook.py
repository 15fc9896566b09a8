"""A webhook receiver for the alert tests: every POST recorded with its
arrival time, its X-Earshot-Event id, its body (parsed JSON, or the raw
bytes with json_body=False) and whether its X-Earshot-Signature (HMAC-SHA256
under secret) is right; answers 200.  stop() closes the socket; start()
opens it on the same port again (a receiver that was down)."""
import hashlib
import hmac
import http.server
import json
import threading
import time


class Receiver:
    def __init__(self, port, secret, json_body=True):
        self.port, self.secret, self.json_body = port, secret, json_body
        self.got = []
        self.httpd = None

    def start(self):
        rx = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                sig = self.headers.get("X-Earshot-Signature", "")
                want = "sha256=" + hmac.new(rx.secret.encode(), body,
                                            hashlib.sha256).hexdigest()
                rx.got.append({"t": time.time(), "id": self.headers.get("X-Earshot-Event"),
                               "body": json.loads(body) if rx.json_body else body,
                               "sig_ok": hmac.compare_digest(sig, want)})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        http.server.HTTPServer.allow_reuse_address = True
        self.httpd = http.server.HTTPServer(("127.0.0.1", self.port), H)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def events(self, condition):
        """The parsed events of one alert condition."""
        return [g for g in self.got if g["body"].get("condition") == condition]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
