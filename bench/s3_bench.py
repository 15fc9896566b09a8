#!/usr/bin/env python3
"""Upload throughput and Range-request latency against the local S3 server
(Swift + s3api, tests/integration/s3server.py), beside curl doing the same.

  python3 bench/s3_bench.py [--calls N] [--duration S] [--ranges N]

1. gen_calls writes N calls of S seconds; `earshot import --format wav`
   records them (encrypted, in the data folder);
2. the same ciphertext files are uploaded by curl (one `curl -T` per file,
   SigV4 with the payload hash given, as earshot sends it), timed;
3. `earshot archive run` uploads them (SHA-256 and Content-MD5 sent, ETag
   compared), then reads each back and hashes it before removing the local
   copy: timed as a whole, so its figure includes the read-back;
4. N Range requests of 64 KiB at random offsets: `earshot archive cat`
   (a process, the index lookup and the request) and curl with a Range
   header; median and p95.
Needs the build (ES_BUILD_DIR or ./build)."""
import argparse
import hashlib
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=8)
    ap.add_argument("--duration", type=int, default=300)
    ap.add_argument("--ranges", type=int, default=50)
    a = ap.parse_args()
    work = estest.tmpdir("earshot-s3bench-")
    pcap = os.path.join(work, "calls.pcap")
    estest.run([os.path.join(estest.BUILD, "gen_calls"), "-o", pcap, "--seed", "3",
                "--calls", str(a.calls), "--duration", str(a.duration)])
    with s3server.S3Server() as s3:
        s3.make_bucket("bench")
        data = os.path.join(work, "data")
        conf = os.path.join(work, "e.conf")
        with open(conf, "w") as f:
            # a long archive_after: the import keeps them local for the timing
            f.write("[earshot]\nblobs = s3://bench/earshot\narchive_after = 36500d\n")
            f.write(s3.conf("bench"))
        estest.earshot(data, "import", "--no-progress", "--format", "wav", "-c", conf, pcap)
        files = []
        for root, _, names in os.walk(os.path.join(data, "recordings")):
            files += [os.path.join(root, n) for n in names]
        total = sum(os.path.getsize(f) for f in files)
        print("%d recordings, %.1f MiB (encrypted WAV)" % (len(files), total / 2**20))

        t = time.monotonic()
        for i, f in enumerate(files):
            s3.curl("PUT", "/bench/curl/%d" % i, data_file=f)
        curl_s = time.monotonic() - t
        # curl's figure includes hashing each file once in Python for the
        # x-amz-content-sha256 header, as earshot hashes it once in C
        print("curl -T, one process per file:   %6.2f s  %6.1f MiB/s" %
              (curl_s, total / 2**20 / curl_s))

        t = time.monotonic()
        r = estest.earshot(data, "archive", "run", "--now", "2200-01-01", "--json")
        es_s = time.monotonic() - t
        print("earshot archive run (upload + read back + hash): %6.2f s  %6.1f MiB/s  %s" %
              (es_s, total / 2**20 / es_s, r.stdout.strip()))

        calls = [c for c in estest.calls_json(data) if c.get("recording")]
        rnd = random.Random(7)
        lat_es, lat_curl = [], []
        for _ in range(a.ranges):
            c = rnd.choice(calls)
            size = c["recording"]["bytes"]
            off = rnd.randrange(0, max(1, size - 65536))
            last = min(size - 1, off + 65535)
            t = time.monotonic()
            p = subprocess.run([estest.EARSHOT, "--data", data, "archive", "cat", str(c["id"]),
                                "--range", "%d-%d" % (off, last)], capture_output=True)
            lat_es.append(time.monotonic() - t)
            assert p.returncode == 0 and len(p.stdout) == last - off + 1, p.stderr
            t = time.monotonic()
            st, body = s3.curl("GET", "/bench/earshot/" + c["recording"]["path"], "-H",
                               "Range: bytes=%d-%d" % (off, last))
            lat_curl.append(time.monotonic() - t)
            assert body == p.stdout
        for name, v in (("earshot archive cat", lat_es), ("curl -H Range", lat_curl)):
            v.sort()
            print("Range 64 KiB, %-20s median %5.1f ms  p95 %5.1f ms  (n=%d)" %
                  (name, statistics.median(v) * 1e3, v[int(len(v) * 0.95) - 1] * 1e3, len(v)))


if __name__ == "__main__":
    main()
