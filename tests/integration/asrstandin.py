"""Protocol stand-ins for the speech engines earshot talks to (no real
model can run here): a whisper.cpp server (POST /inference), an
OpenAI-compatible endpoint (POST /v1/audio/transcriptions) and a Vosk
server (WebSocket), each implementing the documented request and reply
formats.  They do not recognise speech: they find the tone bursts of
talkgen's generated calls in the uploaded audio and name each burst by its
pitch ("refund alpha" for the caller's 440 Hz, "refund bravo" for the
callee's 700 Hz), with the burst's real times, so a test can tell the
channels apart and check word times against the audio.

StandIn.script, when set, maps "alpha"/"bravo" (the channel, told by its
bursts' pitch) to the words to answer instead: [(word, start_s, end_s)],
so a test can have a channel "say" a sentence over its bursts.

Behaviour is switched at run time with StandIn.mode: "ok", "500",
"badjson", "slow" (sleeps 30 s before answering), "mute" (Vosk: reads the
audio and never answers), "nowords" (segments
without word times), "close" (Vosk: the connection drops mid-stream).
The Vosk stand-in streams: an audio frame is answered by a "result" with
the words of every burst that ended more than 0.3 s before the audio so far
(each request's "results" keeps when each was sent), else by a "partial".
StandIn.reject (HTTP engines), when set, is asked of each request record
and True answers HTTP 400 (a request the engine refuses: the job's fault);
StandIn.answered lists the requests answered with words."""
import base64
import hashlib
import io
import json
import math
import socket
import struct
import threading
import time
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def bursts(pcm, rate):
    """(start_s, end_s, hz) of each run of 20 ms frames above -30 dBFS."""
    n = rate // 50
    out, cur = [], None
    for i in range(0, len(pcm) - n + 1, n):
        f = pcm[i:i + n]
        e = math.sqrt(sum(x * x for x in f) / n)
        zc = sum(1 for a, b in zip(f, f[1:]) if (a < 0) != (b < 0))
        if e > 1000:
            if cur is None:
                cur = [i / rate, (i + n) / rate, [zc]]
            else:
                cur[1] = (i + n) / rate
                cur[2].append(zc)
        elif cur is not None:
            out.append(cur)
            cur = None
    if cur is not None:
        out.append(cur)
    return [(s, e, sorted(z)[len(z) // 2] * 50 / 2) for s, e, z in out]


def words_of(pcm, rate, script=None):
    ws = []
    if script:
        b = bursts(pcm, rate)
        name = "alpha" if b and b[0][2] < 570 else "bravo"
        return [{"word": " " + w, "start": s, "end": e, "probability": 0.9}
                for w, s, e in script.get(name, [])]
    for s, e, hz in bursts(pcm, rate):
        name = "alpha" if hz < 570 else "bravo"
        mid = (s + e) / 2
        ws.append({"word": " refund", "start": round(s, 2), "end": round(mid, 2),
                   "probability": 0.91})
        ws.append({"word": " " + name, "start": round(mid, 2), "end": round(e, 2),
                   "probability": 0.87})
    return ws


def parse_multipart(body, ctype):
    b = ctype.split("boundary=", 1)[1].strip('"').encode()
    parts = {}
    for chunk in body.split(b"--" + b)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.partition(b"\r\n\r\n")
        data = data[:-2] if data.endswith(b"\r\n") else data
        name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
        parts.setdefault(name, []).append(data)
    return parts


class StandIn:
    def __init__(self, kind, token=None):
        self.kind = kind          # "whisper", "openai", "vosk"
        self.token = token
        self.mode = "ok"
        self.delay = 0.0          # seconds each HTTP reply waits (a busy engine)
        self.script = None        # {"alpha"|"bravo": [(word, start_s, end_s)]}
        self.requests = []        # what each request carried, for the test
        self.answered = []        # the requests answered with words (HTTP 200)
        self.reject = None        # request -> True: HTTP 400 (the job's own fault)
        self.server = None
        self.port = None

    # ---- HTTP (whisper.cpp server, OpenAI-compatible) ----
    def _http_handler(self):
        si = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                path = "/inference" if si.kind == "whisper" else "/v1/audio/transcriptions"
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                if self.path != path:
                    return self._send(404, b'{"error":"not found"}')
                auth = self.headers.get("Authorization")
                if si.token and auth != "Bearer " + si.token:
                    return self._send(401, b'{"error":{"message":"bad token"}}')
                parts = parse_multipart(body, self.headers["Content-Type"])
                wav = wave.open(io.BytesIO(parts["file"][0]))
                rate = wav.getframerate()
                raw = wav.readframes(wav.getnframes())
                pcm = struct.unpack("<%dh" % (len(raw) // 2), raw)
                si.requests.append({"fields": {k: [x.decode(errors="replace") for x in v]
                                               for k, v in parts.items() if k != "file"},
                                    "rate": rate, "seconds": len(pcm) / rate,
                                    "auth": auth})
                if si.mode == "500":
                    return self._send(500, b'{"error":"model crashed"}')
                if si.reject and si.reject(si.requests[-1]):
                    return self._send(400, b'{"error":"audio not understood"}')
                if si.mode == "badjson":
                    return self._send(200, b'{"text": "refund alpha", "segments": [')
                if si.mode == "slow":
                    time.sleep(30)
                if si.delay:
                    time.sleep(si.delay)
                ws = words_of(pcm, rate, si.script)
                text = "".join(w["word"] for w in ws)
                if si.kind == "openai" and si.mode != "nowords":
                    reply = {"task": "transcribe", "language": "english",
                             "duration": len(pcm) / rate, "text": text, "words":
                             [{"word": w["word"].strip(), "start": w["start"],
                               "end": w["end"]} for w in ws]}
                else:
                    segs = []
                    for i in range(0, len(ws), 2):
                        two = ws[i:i + 2]
                        seg = {"id": i // 2, "start": two[0]["start"], "end": two[-1]["end"],
                               "text": "".join(w["word"] for w in two)}
                        if si.mode != "nowords":
                            seg["words"] = two
                        segs.append(seg)
                    reply = {"task": "transcribe", "language": "english",
                             "duration": len(pcm) / rate, "text": text, "segments": segs}
                si.answered.append(si.requests[-1])
                self._send(200, json.dumps(reply).encode())

            def _send(self, code, body):
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass
        return H

    # ---- Vosk WebSocket ----
    def _vosk_conn(self, c):
        c.settimeout(60)
        f = c.makefile("rb")
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            b = f.read(1)
            if not b:
                return
            head += b
        hdrs = {}
        for line in head.decode().split("\r\n")[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
        if self.token and hdrs.get("authorization") != "Bearer " + self.token:
            c.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
            return
        acc = base64.b64encode(hashlib.sha1((hdrs["sec-websocket-key"] +
                                             "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                                            .encode()).digest()).decode()
        c.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n" % acc).encode())

        def frame():
            h = f.read(2)
            if len(h) < 2:
                return None, None
            op, ln = h[0] & 15, h[1] & 127
            assert h[1] & 128, "client frames must be masked"
            if ln == 126:
                ln = struct.unpack(">H", f.read(2))[0]
            elif ln == 127:
                ln = struct.unpack(">Q", f.read(8))[0]
            key = f.read(4)
            data = bytes(b ^ key[i & 3] for i, b in enumerate(f.read(ln)))
            return op, data

        def send(obj):
            d = json.dumps(obj).encode()
            hdr = bytes([0x81, len(d)]) if len(d) < 126 else \
                bytes([0x81, 126]) + struct.pack(">H", len(d)) if len(d) < 65536 else \
                bytes([0x81, 127]) + struct.pack(">Q", len(d))
            c.sendall(hdr + d)

        op, data = frame()
        cfg = json.loads(data)["config"]
        rate = cfg["sample_rate"]
        # results: (wall time sent, [(word, start_s, end_s)]) of each "result",
        # so a test can time what a streaming client does with them
        req = {"config": cfg, "chunks": 0, "seconds": 0.0, "results": [],
               "opened": time.time()}
        self.requests.append(req)
        pcm = []
        sent = 0  # words already given in a "result"
        while True:
            op, data = frame()
            if op is None or op == 8:
                return
            if op == 2:
                req["chunks"] += 1
                pcm.extend(struct.unpack("<%dh" % (len(data) // 2), data))
                req["seconds"] = len(pcm) / rate
                if self.mode == "close" and req["chunks"] == 3:
                    c.close()
                    return
                if self.mode == "mute":  # reads the audio, never answers
                    continue
                # a burst that ended more than 0.3 s ago is an utterance
                ws = [w for w in words_of(pcm, rate) if w["end"] < len(pcm) / rate - 0.3]
                if len(ws) > sent:
                    send({"result": [{"conf": w["probability"], "start": w["start"],
                                      "end": w["end"], "word": w["word"].strip()}
                                     for w in ws[sent:]], "text": "..."})
                    req["results"].append((time.time(), [(w["word"].strip(), w["start"],
                                                          w["end"]) for w in ws[sent:]]))
                    sent = len(ws)
                else:
                    send({"partial": "refund"})
            elif op == 1 and json.loads(data).get("eof"):
                ws = words_of(pcm, rate)[sent:]
                send({"result": [{"conf": w["probability"], "start": w["start"],
                                  "end": w["end"], "word": w["word"].strip()} for w in ws],
                      "text": "..."})
                return

    def start(self, port=0):
        if self.kind == "vosk":
            self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.server.bind(("127.0.0.1", port))
            self.server.listen(8)
            self.port = self.server.getsockname()[1]

            def loop(srv):
                while True:
                    try:
                        c, _ = srv.accept()
                    except OSError:
                        return
                    threading.Thread(target=self._vosk_one, args=(c,), daemon=True).start()
            threading.Thread(target=loop, args=(self.server,), daemon=True).start()
        else:
            ThreadingHTTPServer.allow_reuse_address = True
            self.server = ThreadingHTTPServer(("127.0.0.1", port), self._http_handler())
            self.server.daemon_threads = True
            self.port = self.server.server_address[1]
            threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self.port

    def _vosk_one(self, c):
        try:
            self._vosk_conn(c)
        except (OSError, AssertionError, ValueError, KeyError):
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass

    def stop(self):
        if self.kind == "vosk":
            self.server.close()
        else:
            self.server.shutdown()
            self.server.server_close()
