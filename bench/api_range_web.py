#!/usr/bin/env python3
"""What the data-key lookup costs a web node's Range requests (issue #16).

  python3 bench/api_range_web.py [--duration S] [--ranges N] [--threads T]

A recorder (`earshot import`, EARSHOT_KEK, one WAV call of S seconds)
moves its recording to a Swift bucket (tests/integration/s3server.py) and
writes its wrapped key into a throwaway PostgreSQL index; a web node
(`earshot serve`, an empty data folder, the KEK and the index) answers N
Range requests of 64 KiB at random offsets, one at a time and then from T
threads at once: per request p50 / p95 and requests/s.  Each of those
requests looks its key up once in the index (audio_state.c: the shred
check) through the node's one key connection (api/shared_keys.c, a
mutex).  That lookup alone: pgbench over one connection for 5 s (the
rate one locked connection can serve, and its latency).  Needs the build
(ES_BUILD_DIR or ./build) and PostgreSQL 15's pgbench."""
import argparse
import base64
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import random
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import estest  # noqa: E402
import s3server  # noqa: E402

BLOCK = 65536
PGBENCH = "/usr/lib/postgresql/15/bin/pgbench"


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def one(port, auth, call, off, out):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    t = time.perf_counter()
    c.request("GET", "/api/calls/%d/audio" % call,
              headers=dict(auth, Range="bytes=%d-%d" % (off, off + BLOCK - 1)))
    r = c.getresponse()
    b = r.read()
    out.append(time.perf_counter() - t)
    c.close()
    if r.status != 206 or len(b) != BLOCK:
        raise RuntimeError("range at %d: %s, %d bytes" % (off, r.status, len(b)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=60)
    ap.add_argument("--ranges", type=int, default=30)
    ap.add_argument("--threads", type=int, default=4)
    a = ap.parse_args()
    work = estest.tmpdir("earshot-rangeweb-")
    pcap = os.path.join(work, "call.pcap")
    estest.run([os.path.join(estest.BUILD, "gen_calls"), "-o", pcap, "--seed", "11",
                "--calls", "1", "--duration", str(a.duration)])
    kek = base64.b64encode(os.urandom(32)).decode()
    with estest.PgCluster() as pg, s3server.S3Server() as s3:
        url = pg.fresh()
        s3.make_bucket("calls")
        conf = os.path.join(work, "rec.conf")
        with open(conf, "w") as f:
            f.write("[earshot]\nblobs = s3://calls/rec-1\n" + s3.conf("calls"))
        env = dict(os.environ, EARSHOT_INDEX=url, EARSHOT_KEK=kek, EARSHOT_NODE="rec-1")
        rec = os.path.join(work, "rec")
        estest.run([estest.EARSHOT, "--data", rec, "import", "--no-progress", "-c", conf,
                    "--format", "wav", pcap], env=env)
        estest.run([estest.EARSHOT, "--data", rec, "archive", "run", "--now",
                    "2099-01-01T00:00:00Z"], env=env)
        call = [c for c in json.loads(estest.run([estest.EARSHOT, "--data", rec, "calls",
                                                  "--json"], env=env).stdout)
                if c.get("recording")][0]
        estest.run([estest.EARSHOT, "--data", rec, "user", "add", "b1", "--role", "admin",
                    "--password-stdin"], input="correct horse battery\n", env=env)
        tok = json.loads(estest.run([estest.EARSHOT, "--data", rec, "user", "token", "b1",
                                     "--json"], env=env).stdout)["token"]
        auth = {"Authorization": "Bearer " + tok}
        web = os.path.join(work, "web")
        os.makedirs(web, mode=0o700)
        wenv = dict(env, AWS_ACCESS_KEY_ID=s3.access_key, AWS_SECRET_ACCESS_KEY=s3.secret_key)
        wenv.pop("EARSHOT_NODE")
        port = estest.free_port()
        p = subprocess.Popen([estest.EARSHOT, "--data", web, "serve", "--listen",
                              "127.0.0.1:%d" % port], env=wenv, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            if not estest.http_wait_up("127.0.0.1", port, p):
                raise RuntimeError("serve did not start")
            size = int(estest.http_req("127.0.0.1", port, "GET", "/api/calls/%d/audio"
                                       % call["id"], headers=dict(auth, Range="bytes=0-0"),
                                       raw=True)[1]["content-range"].rsplit("/", 1)[1])
            rnd = random.Random(7)
            offs = [rnd.randrange(0, size - BLOCK) for _ in range(a.ranges)]
            seq = []
            t0 = time.perf_counter()
            for off in offs:
                one(port, auth, call["id"], off, seq)
            seq_rate = len(seq) / (time.perf_counter() - t0)
            par = []
            ths = [threading.Thread(target=lambda o=offs[i::a.threads]: [
                one(port, auth, call["id"], x, par) for x in o]) for i in range(a.threads)]
            t0 = time.perf_counter()
            for t in ths:
                t.start()
            for t in ths:
                t.join()
            par_rate = len(par) / (time.perf_counter() - t0)
        finally:
            estest.http_stop(p)
        # the lookup alone, as api/shared_keys.c makes it (one connection)
        q = os.path.join(work, "lookup.sql")
        with open(q, "w") as f:
            f.write("SELECT wrapped FROM rec_keys WHERE path = '%s';\n"
                    % call["recording"]["path"])
        pb = estest.run([PGBENCH, "-n", "-c", "1", "-T", "5", "-M", "prepared", "-f", q, url],
                        check=False)
        lat = [ln for ln in pb.stdout.splitlines() if "latency average" in ln or
               ln.startswith("tps")]
    print("| web node, %d x 64 KiB Range of a %d-s WAV call in the bucket | p50 / p95 | "
          "requests/s |" % (a.ranges, a.duration))
    print("| --- | --- | --- |")
    print("| one at a time | %.1f / %.1f ms | %.1f |" % (
        1000 * statistics.median(seq), 1000 * pct(seq, 95), seq_rate))
    print("| %d threads | %.1f / %.1f ms | %.1f |" % (
        a.threads, 1000 * statistics.median(par), 1000 * pct(par, 95), par_rate))
    print("key lookup alone (pgbench, 1 connection, 5 s):", "; ".join(x.strip() for x in lat)
          or pb.stderr[-300:])


if __name__ == "__main__":
    main()
