"""Monitoring endpoints (docs/OPERATIONS.md "Monitoring"): a SIPREC recorder
(`earshot srs`) with `[metrics] listen` and `earshot serve` on the same data
folder each answer GET /metrics in the Prometheus text format that
`promtool check metrics` accepts, with the recorder's figures (calls in
progress, SIPREC sessions and refusals, drops by reason, backlog, disk
free) and the server's HTTP responses by status; /healthz answers; /readyz
says ready while the recorder captures and 503 once it stalls (SIGSTOP);
the metrics listener serves nothing else."""
import os
import signal
import subprocess
import time

from estest import EARSHOT, Results, free_port, have, http_req, http_wait_up, run, skip, tmpdir
import siprec_peer

if not have("promtool"):
    skip("promtool (Debian's prometheus package) is not installed")

HOST = "127.0.0.1"


def get(port, path):
    st, hdrs, body = http_req(HOST, port, "GET", path, raw=True, timeout=10)
    return st, hdrs, body


def promtool(res, what, text):
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    res.check(p.returncode == 0, "%s: promtool check metrics exit %d: %s %s"
              % (what, p.returncode, p.stdout[-800:], p.stderr[-800:]))


def sample(text, name):
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def main():
    res = Results()
    work = tmpdir("earshot-metrics-")
    data = os.path.join(work, "data")
    mport, aport = free_port(), free_port()
    conf = os.path.join(work, "earshot.conf")
    with open(conf, "w") as f:
        f.write("[metrics]\nlisten = %s:%d\n" % (HOST, mport))
    srs = siprec_peer.Srs(EARSHOT, data, rtp_pairs=20, args=["-c", conf])
    serve = None
    try:
        if not res.check(srs.start(), "earshot srs did not start: " + srs.logtail()):
            res.finish()
        # a refusal to count: an INVITE without SIPREC metadata is refused
        c = siprec_peer.SipClient(srs.addr)
        try:
            c.request("INVITE", timeout=1)
        finally:
            c.close()
        time.sleep(1.5)  # one status interval
        st, hdrs, body = get(mport, "/metrics")
        text = body.decode()
        res.check(st == 200 and hdrs.get("content-type", "").startswith("text/plain; version=0.0.4"),
                  "recorder /metrics: %s %s" % (st, hdrs.get("content-type")))
        promtool(res, "recorder /metrics", text)
        res.check(sample(text, "earshot_recorder_up") == 1, "recorder up:\n" + text[:600])
        for name in ("earshot_calls_in_progress", "earshot_siprec_sessions",
                     "earshot_recording_backlog", "earshot_disk_free_bytes",
                     "earshot_capture_packets_per_second", "earshot_recordings_total",
                     "earshot_drops_total", "earshot_siprec_refusals_total"):
            res.check(sample(text, name) is not None, "recorder /metrics has %s" % name)
        # the encoder pool: encode_threads = auto (the default) is one per
        # online core, and the backlog's age is there (0: nothing queued)
        ncores = min(64, os.sysconf("SC_NPROCESSORS_ONLN"))
        res.check(sample(text, "earshot_encode_threads") == ncores,
                  "encode threads %s, online cores %d" % (sample(text, "earshot_encode_threads"), ncores))
        res.check(sample(text, "earshot_recording_queue_oldest_seconds") == 0,
                  "backlog age 0 with nothing queued: %s" % sample(text, "earshot_recording_queue_oldest_seconds"))
        res.check('earshot_drops_total{reason="queue"}' in text and
                  'earshot_drops_total{reason="siprec_tcp_limit"}' in text,
                  "drops by reason, the status.json counters")
        refused = sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
                      if l.startswith("earshot_siprec_refusals_total{"))
        res.check(refused >= 1, "the refused INVITE is counted (%s)" % refused)
        # no personal data: no SIP URIs, numbers or addresses in the labels
        res.check("sip:" not in text and "127.0.0.1" not in text, "no addresses or URIs")
        st, _, body = get(mport, "/healthz")
        res.check(st == 200 and body == b"ok\n", "recorder /healthz: %s %r" % (st, body))
        st, _, body = get(mport, "/readyz")
        res.check(st == 200 and b'"recorder":"capturing"' in body, "recorder /readyz: %s %s" % (st, body))
        st, _, _ = get(mport, "/api/calls")
        res.check(st == 404, "the metrics listener serves no API (%s)" % st)

        # earshot serve on the same folder
        serve = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, aport)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if not res.check(http_wait_up(HOST, aport, serve), "earshot serve did not start"):
            res.finish()
        st, _, _ = http_req(HOST, aport, "GET", "/api/me", timeout=10)  # 401: counted
        st, hdrs, body = get(aport, "/metrics")
        text = body.decode()
        res.check(st == 200, "serve /metrics: %s" % st)
        promtool(res, "serve /metrics", text)
        res.check('earshot_http_requests_total{code="401"}' in text,
                  "serve counts responses by status:\n" + text[-600:])
        res.check(sample(text, "earshot_recorder_up") == 1, "serve sees the recorder up")
        st, _, body = get(aport, "/readyz")
        res.check(st == 200 and b'"ready":true' in body, "serve /readyz: %s %s" % (st, body))
        st, _, body = get(aport, "/healthz")
        res.check(st == 200, "serve /healthz: %s" % st)

        # a recorder that stops writing status.json is not ready
        os.kill(srs.rec.proc.pid, signal.SIGSTOP)
        try:
            time.sleep(11)
            st, _, body = get(aport, "/readyz")
            res.check(st == 503 and b'"recorder":"stalled"' in body,
                      "a stalled recorder: serve /readyz %s %s" % (st, body))
            st, _, body = get(aport, "/metrics")
            res.check(sample(body.decode(), "earshot_recorder_up") == 0, "recorder_up 0 when stalled")
        finally:
            os.kill(srs.rec.proc.pid, signal.SIGCONT)
        srs.stop()
        st, _, body = get(aport, "/readyz")
        res.check(st == 200 and b'"recorder":"none"' in body,
                  "after the recorder stopped: serve alone is ready (%s %s)" % (st, body))
    finally:
        if serve:
            serve.terminate()
            serve.wait(timeout=20)
        if srs.alive():
            srs.stop()
    res.finish()


if __name__ == "__main__":
    main()
