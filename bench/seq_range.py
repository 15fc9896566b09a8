#!/usr/bin/env python3
"""bench/seq_range.py - 1,000 sequential 64 KiB Range requests (one keep-alive connection, bearer
token) over the recordings of a bench data folder: mean and p50/p95 per request.
usage: bench/seq_range.py EARSHOT DATA PORT [N]  (DATA: a folder bench/api_load.sh --keep
prepared; PORT: 18200-18209 on a shared machine)"""
import http.client, json, os, subprocess, sys, time
earshot, data, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
n = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
token = open(os.path.join(data, "bench/token")).read().strip()
srv = subprocess.Popen([earshot, "serve", "--listen", "127.0.0.1:%d" % port, "--data", data,
                        "--web", "", "--threads", "4"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
try:
    h = {"Authorization": "Bearer " + token}
    for _ in range(600):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30); c.request("GET", "/api/me", headers=h)
            r = c.getresponse(); r.read(); break
        except OSError:
            time.sleep(0.1)
    c.request("GET", "/api/calls?limit=100&flag=&outcome=answered", headers=h)
    r = c.getresponse(); b = json.loads(r.read())
    ids = [x["id"] for x in b.get("calls", []) if x.get("recording")]
    if not ids:  # the recorded ones are the first imported
        ids = list(range(1, 33))
    sizes = {}
    for i in ids[:32]:
        c.request("GET", "/api/calls/%d/audio" % i, headers=dict(h, Range="bytes=0-0")); r = c.getresponse(); r.read()
        if r.status == 206:
            sizes[i] = int(r.getheader("content-range").split("/")[1])
    ids = sorted(sizes)
    lat = []; total = 0; k = 0
    t0 = time.perf_counter()
    while len(lat) < n:
        i = ids[k % len(ids)]; k += 1
        for lo in range(0, sizes[i], 65536):
            if len(lat) >= n: break
            t = time.perf_counter()
            c.request("GET", "/api/calls/%d/audio" % i, headers=dict(h, Range="bytes=%d-%d" % (lo, lo + 65535)))
            r = c.getresponse(); body = r.read()
            assert r.status == 206, r.status
            total += len(body); lat.append(time.perf_counter() - t)
    wall = time.perf_counter() - t0
    lat.sort()
    print("%d requests over %d recordings: %.2f s, mean %.2f ms, p50 %.2f ms, p95 %.2f ms, %.1f MB/s"
          % (n, len(ids), wall, 1000 * wall / n, 1000 * lat[n // 2], 1000 * lat[int(n * .95)], total / wall / 1e6))
finally:
    srv.terminate(); srv.wait()
