"""Recording memory is bounded: a two-hour call imports (and renders) in
about the same peak memory as a five-minute one, and 500 concurrent calls
need a bounded amount per call.  Peak RSS comes from /usr/bin/time; the
figures are printed (docs/PERFORMANCE.md has the release build's)."""
import json
import os
import shutil

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


def import_rss(name, *gen_args, fmt="wav"):
    pcap = os.path.join(work, name + ".pcap")
    run([GEN, "-o", pcap, "--codec", "pcmu", "--seed", "3"] + list(gen_args))
    data = os.path.join(work, name)
    p = run([TIME, "-f", "%M", EARSHOT, "--data", data, "import", "--json", "--no-progress",
             "--format", fmt, pcap], env=env)
    rss_kib = int(p.stderr.strip().splitlines()[-1])
    summary = json.loads(p.stdout)
    shutil.rmtree(data)
    os.unlink(pcap)
    return rss_kib, summary


base, s1 = import_rss("one-short", "--calls", "1", "--duration", "300")
long_, s2 = import_rss("one-long", "--calls", "1", "--duration", "7200")
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
