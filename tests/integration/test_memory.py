"""Recording memory is bounded: a two-hour call imports (and renders) in
about the same peak memory as a five-minute one, and 500 concurrent calls
need a bounded amount per call.  Peak RSS comes from /usr/bin/time; the
figures are printed (docs/PERFORMANCE.md has the release build's).

The two-hour call is encrypted (the default) WAV: it must be rendered
straight through the encryptor, not through a memfd the size of its file
(whose pages RSS does not show: strace shows whether one was made), and
its plaintext must be the bytes the unencrypted path writes to its file."""
import json
import os
import shutil
import sqlite3

from estest import BUILD, EARSHOT, Results, run, skip, tmpdir

TIME = "/usr/bin/time"
if not os.path.exists(TIME):
    skip("/usr/bin/time not installed (scripts/bootstrap installs it)")
GEN = os.path.join(BUILD, "gen_calls")
res = Results()
work = tmpdir("earshot-memory-")
# Under AddressSanitizer freed memory sits in a quarantine; keep it small so
# that RSS says what the program holds.
env = dict(os.environ)
env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=8"


def import_rss(name, *gen_args, fmt="wav", trace=None, keep=False, extra=()):
    """Peak RSS (KiB) and summary of importing a generated capture; with
    trace, memfd_create calls are logged there (strace, only that call)."""
    pcap = os.path.join(work, name + ".pcap")
    if not os.path.exists(pcap):
        run([GEN, "-o", pcap, "--codec", "pcmu", "--seed", "3"] + list(gen_args))
    data = os.path.join(work, name)
    cmd = [EARSHOT, "--data", data, "import", "--json", "--no-progress", "--format", fmt] + list(extra) + [pcap]
    run_env = env
    if trace:
        cmd = ["strace", "-f", "-qq", "--seccomp-bpf", "-e", "trace=memfd_create", "-o",
               trace] + cmd
        # LeakSanitizer cannot run under ptrace; the untraced runs keep it
        run_env = dict(env, ASAN_OPTIONS=env["ASAN_OPTIONS"] + ":detect_leaks=0")
    p = run([TIME, "-f", "%M"] + cmd, env=run_env)
    rss_kib = int(p.stderr.strip().splitlines()[-1])
    summary = json.loads(p.stdout)
    if not keep:
        shutil.rmtree(data)
        os.unlink(pcap)
    return rss_kib, summary


def plain_sha(name):
    """The plaintext SHA-256 of the only recording in data folder name."""
    db = sqlite3.connect(os.path.join(work, name, "index.sqlite"))
    rows = db.execute("SELECT COALESCE(plain_sha256, sha256) FROM recordings").fetchall()
    db.close()
    shutil.rmtree(os.path.join(work, name))
    return rows[0][0] if len(rows) == 1 else rows


base, s1 = import_rss("one-short", "--calls", "1", "--duration", "300")
trace = os.path.join(work, "memfd.trace") if shutil.which("strace") else None
long_, s2 = import_rss("one-long", "--calls", "1", "--duration", "7200", trace=trace, keep=True)
if trace:
    with open(trace) as f:
        memfds = [line.strip() for line in f if "memfd_create" in line]
    res.check(not memfds, "the two-hour encrypted WAV call went through a memfd: %r" % memfds[:3])
else:
    print("strace not installed: the memfd check is skipped")
enc_sha = plain_sha("one-long")
# the same capture unencrypted: the renderer writes its file directly
os.rename(os.path.join(work, "one-long.pcap"), os.path.join(work, "one-long-plain.pcap"))
_, s2p = import_rss("one-long-plain", keep=True, extra=["--no-encrypt"])
os.unlink(os.path.join(work, "one-long-plain.pcap"))
plain = plain_sha("one-long-plain")
res.check(s2p["recordings"] == 1 and enc_sha == plain,
          "two-hour call: the encrypted recording's plaintext %s, the plain file %s" %
          (enc_sha, plain))
res.check(s2["recordings"] == 1 and abs(s2["recorded_seconds"] - 7200) < 10,
          "two-hour call: %r" % s2)
print("peak RSS: a 5-minute call %d KiB, a 2-hour call %d KiB (recorded %.0f s)" %
      (base, long_, s2["recorded_seconds"]))
res.check(long_ - base < 8 * 1024,
          "a two-hour call takes %d KiB more than a five-minute one" % (long_ - base))

one, _ = import_rss("one", "--calls", "1", "--duration", "20")
many, s3 = import_rss("many", "--calls", "500", "--concurrency", "500", "--duration", "20")
res.check(s3["recordings"] == 500, "500 concurrent calls: %d recordings" % s3["recordings"])
res.check(s3["max_active_calls"] >= 450, "max_active_calls %d" % s3["max_active_calls"])
per_call = (many - one) / 500.0
print("peak RSS: 1 call %d KiB, 500 concurrent calls %d KiB: %.1f KiB per concurrent call "
      "(engine's own count: %.1f KiB per call)" %
      (one, many, per_call, s3["max_call_bytes"] / 1024.0 / 500))
res.check(per_call < 256, "%.1f KiB per concurrent call" % per_call)

shutil.rmtree(work)
res.finish()
