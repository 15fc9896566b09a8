#!/usr/bin/env python3
"""Range-request latency of playback through the API (GET
/api/calls/{id}/audio), a recording only in the bucket (Swift + s3api,
tests/integration/s3server.py; read by ranged GETs of its chunks) beside
the same recording on local disk, in one run.

  python3 bench/api_range.py [--duration S] [--ranges N]

gen_calls writes one call of S seconds; `earshot import --format wav`
records it twice: into a data folder whose bucket takes it (archived) and
into a plain data folder (local).  `earshot serve` on each answers N
requests of 64 KiB at random offsets (the same offsets for both); per
request the time to the first byte of the body and to the last, p50 and
p95.  Needs the build (ES_BUILD_DIR or ./build)."""
import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import estest  # noqa: E402
import s3server  # noqa: E402

BLOCK = 65536


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def serve(data):
    estest.run([estest.EARSHOT, "--data", data, "user", "add", "b1", "--role", "admin",
                "--password-stdin"], input="correct horse battery\n")
    tok = json.loads(estest.earshot(data, "user", "token", "b1", "--json").stdout)["token"]
    port = estest.free_port()
    p = subprocess.Popen([estest.EARSHOT, "--data", data, "serve", "--listen",
                          "127.0.0.1:%d" % port], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    if not estest.http_wait_up("127.0.0.1", port, p):
        raise RuntimeError("serve did not start")
    return p, port, {"Authorization": "Bearer " + tok}


def ranges(port, auth, call, offsets):
    first, whole = [], []
    for off in offsets:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        t = time.perf_counter()
        c.request("GET", "/api/calls/%d/audio" % call,
                  headers=dict(auth, Range="bytes=%d-%d" % (off, off + BLOCK - 1)))
        r = r0 = c.getresponse()
        b = r.read(1)
        first.append(time.perf_counter() - t)
        b += r.read()
        whole.append(time.perf_counter() - t)
        c.close()
        if r0.status != 206 or len(b) != BLOCK:
            raise RuntimeError("range at %d: %s, %d bytes" % (off, r0.status, len(b)))
    return first, whole


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=120)
    ap.add_argument("--ranges", type=int, default=30)
    a = ap.parse_args()
    work = estest.tmpdir("earshot-apirange-")
    pcap = os.path.join(work, "call.pcap")
    estest.run([os.path.join(estest.BUILD, "gen_calls"), "-o", pcap, "--seed", "11",
                "--calls", "1", "--duration", str(a.duration)])
    rows = []
    with s3server.S3Server() as s3:
        s3.make_bucket("rec")
        conf = os.path.join(work, "s3.conf")
        with open(conf, "w") as f:
            f.write("[earshot]\nblobs = s3://rec/b\n" + s3.conf("rec"))
        folders = {"bucket (ranged GETs)": os.path.join(work, "s3"),
                   "local disk": os.path.join(work, "local")}
        offsets = None
        for name, data in folders.items():
            extra = ("-c", conf) if "bucket" in name else ()
            estest.import_capture(data, pcap, extra=extra + ("--format", "wav"))
            c = [c for c in estest.calls_json(data) if c.get("recording")][0]
            p, port, auth = serve(data)
            try:
                if offsets is None:
                    size = int(estest.http_req("127.0.0.1", port, "GET", "/api/calls/%d/audio"
                                               % c["id"], headers=dict(auth, Range="bytes=0-0"),
                                               raw=True)[1]["content-range"].rsplit("/", 1)[1])
                    rnd = random.Random(7)
                    offsets = [rnd.randrange(0, size - BLOCK) for _ in range(a.ranges)]
                first, whole = ranges(port, auth, c["id"], offsets)
            finally:
                estest.http_stop(p)
            rows.append((name, first, whole))
    print("| %d x 64 KiB Range, %d-s WAV call | first byte p50 / p95 | whole range p50 / p95 |"
          % (a.ranges, a.duration))
    print("| --- | --- | --- |")
    for name, first, whole in rows:
        print("| %s | %.1f / %.1f ms | %.1f / %.1f ms |" % (
            name, 1000 * statistics.median(first), 1000 * pct(first, 95),
            1000 * statistics.median(whole), 1000 * pct(whole, 95)))


if __name__ == "__main__":
    main()
