"""Exports through the API (issue #18): a recording as WAV, MP3 or Opus
(GET /api/calls/{id}/export?format=) and a ZIP of selected calls with a
manifest of hashes (POST /api/export.zip), on real captures
(../shared/captures: G.711 and G.722 calls) imported into a data folder
with encrypted recordings, served by `earshot serve`.

- The role matrix over both endpoints: admin, supervisor and an auditor
  with the listen grant may; agents (even on their own call) and an auditor
  without the grant may not: 0 unexpected allows, every denial audited.
- Each file decodes whole with ffmpeg and has the recording's channels and
  duration (ffprobe); a WAV export is the recording's own PCM.
- The ZIP passes `unzip -t`; its manifest lists each call with the SHA-256
  and size of its file (checked), and a call the user may not export or
  that does not exist is left out as "not available" (the same word).
- Every export is audited as call.export with the format, size and hash;
  the ZIP as calls.export_zip; nothing is written to the data folder.
- The web UI (tests/browser/export_test.mjs, Chromium): a supervisor ticks
  the calls in the search list and downloads their ZIP (MP3), and the WAV
  from the call page; an agent sees neither the checkboxes nor the links."""
import hashlib
import io
import json
import os
import subprocess
import zipfile

from estest import (BROWSER_DIR, CHROMIUM, EARSHOT, SHARED, Results, browser_ready, calls_json,
                    free_port, have, http_req, http_stop, http_wait_up, import_capture, run, skip,
                    tmpdir)

for tool in ("ffprobe", "ffmpeg", "unzip"):
    if not have(tool):
        skip(tool + " is not installed")
CAPS = [os.path.join(SHARED, n) for n in ("SIP_CALL_RTP_G711", "sip-rtp-g722.pcap")]
if not all(os.path.exists(c) for c in CAPS):
    skip("the shared captures are not there: %s" % CAPS)
res = Results()
work = tmpdir("earshot-export-api-")
data = os.path.join(work, "data")
PW = "correct horse battery"
for c in CAPS:
    p, _ = import_capture(data, c)
    res.check(p.returncode == 0, "import %s: %s" % (c, p.stderr[-300:]))
calls = [c for c in calls_json(data) if c.get("recording")]
res.check(len(calls) >= 2, "two recorded calls: %s" % [c.get("id") for c in calls_json(data)])
if len(calls) < 2:
    res.finish()
own = calls[0]
own_number = own["parties"]["callee"]["user"] or own["parties"]["caller"]["user"]
USERS = {"adm": ("admin", "", False), "sup": ("supervisor", "", False),
         "ag-own": ("agent", own_number, False), "ag-other": ("agent", "99999", False),
         "aud": ("auditor", "", False), "aud-l": ("auditor", "", True)}
for name, (role, numbers, grant) in USERS.items():
    args = [EARSHOT, "--data", data, "user", "add", name, "--role", role, "--password-stdin"]
    if numbers:
        args += ["--numbers", numbers]
    if grant:
        args += ["--can-listen"]
    run(args, input=PW + "\n")
TOKENS = {n: json.loads(run([EARSHOT, "--data", data, "user", "token", n, "--json"]).stdout)["token"]
          for n in USERS}
MAY = {"adm", "sup", "aud-l"}

host, port = "127.0.0.1", free_port()
srv = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (host, port)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def req(method, path, who, body=None):
    return http_req(host, port, method, path, body=body, raw=True, timeout=60,
                    headers={"Authorization": "Bearer " + TOKENS[who]})


def probe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                          "stream=codec_name,channels,sample_rate:format=duration", "-of",
                          "default=nw=1", path], capture_output=True, text=True).stdout
    return dict(x.split("=", 1) for x in out.split() if "=" in x)


def decodes(path):
    p = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "null", "-"],
                       capture_output=True, text=True)
    return p.returncode == 0 and not p.stderr.strip(), p.stderr[-300:]


def files_under(d):
    return {os.path.join(r, f) for r, _, fs in os.walk(d) for f in fs}


CODEC = {"wav": "pcm_s16le", "mp3": "mp3", "opus": "opus"}
try:
    if not res.check(http_wait_up(host, port, srv), "server up"):
        res.finish()
    before = files_under(data)
    # ---- the role matrix ---------------------------------------------------------------
    unexpected = []
    for who in USERS:
        for c in calls:
            for fmt in ("wav",):  # the format does not change who may (MP3 below)
                st, _, _ = req("GET", "/api/calls/%d/export?format=%s" % (c["id"], fmt), who)
                want = 200 if who in MAY else 403
                if st == 200 and who not in MAY:
                    unexpected.append((who, c["id"], fmt))
                res.check(st == want, "%s exports call %d as %s: %d, want %d" %
                          (who, c["id"], fmt, st, want))
        st, _, _ = req("POST", "/api/export.zip", who, {"ids": [str(c["id"]) for c in calls],
                                                         "format": "wav"})
        if st == 200 and who not in MAY:
            unexpected.append((who, "zip"))
        res.check(st == (200 if who in MAY else 403), "%s: ZIP %d" % (who, st))
    res.check(not unexpected, "0 unexpected allows: %s" % unexpected)
    print("role matrix: %d users x %d calls + ZIP, unexpected allows: %d" %
          (len(USERS), len(calls), len(unexpected)))

    # ---- the files -------------------------------------------------------------------------
    for c in calls:
        dur = c["recording"]["duration_s"]
        for fmt in ("wav", "mp3", "opus"):
            st, h, body = req("GET", "/api/calls/%d/export?format=%s" % (c["id"], fmt), "sup")
            path = os.path.join(work, "call-%d.%s" % (c["id"], fmt))
            with open(path, "wb") as f:
                f.write(body)
            info = probe(path)
            ok, why = decodes(path)
            res.check(st == 200 and info.get("codec_name") == CODEC[fmt] and
                      info.get("channels") == "2" and ok and
                      abs(float(info.get("duration", 0)) - dur) < 0.5 and
                      "call-%d.%s" % (c["id"], fmt) in h.get("content-disposition", ""),
                      "call %d as %s: %d %s %s %s (recording %.2f s)" %
                      (c["id"], fmt, st, h.get("content-type"), info, why, dur))
    st, _, _ = req("GET", "/api/calls/%d/export?format=aiff" % calls[0]["id"], "sup")
    res.check(st == 400, "an unknown format: %d" % st)
    st, _, _ = req("GET", "/api/calls/999999/export?format=wav", "sup")
    res.check(st == 404, "an unknown call: %d" % st)

    # ---- the ZIP ---------------------------------------------------------------------------
    ids = [str(c["id"]) for c in calls]
    st, h, body = req("POST", "/api/export.zip", "sup", {"ids": ids + ["999999"], "format": "mp3"})
    zpath = os.path.join(work, "calls.zip")
    with open(zpath, "wb") as f:
        f.write(body)
    t = subprocess.run(["unzip", "-t", zpath], capture_output=True, text=True)
    res.check(st == 200 and h.get("content-type") == "application/zip" and t.returncode == 0,
              "ZIP: %d %s unzip -t: %s%s" % (st, h.get("content-type"), t.stdout[-300:], t.stderr))
    if t.returncode == 0:
        z = zipfile.ZipFile(io.BytesIO(body))
        man = json.loads(z.read("manifest.json"))
        res.check(sorted(str(m["id"]) for m in man["calls"]) == sorted(ids) and
                  man["refused"] == [{"id": 999999, "reason": "not available"}] and
                  man["format"] == "mp3" and man["exported_by"] == "sup",
                  "the manifest: %s" % man)
        for m in man["calls"]:
            b = z.read(m["file"])
            res.check(hashlib.sha256(b).hexdigest() == m["sha256"] and len(b) == m["bytes"],
                      "%s: its hash and size in the manifest" % m["file"])
    # an agent's own call is not exported in a ZIP either (refused before the body)
    st, _, _ = req("POST", "/api/export.zip", "ag-own", {"ids": [str(own["id"])]})
    res.check(st == 403, "agent's own call in a ZIP: %d" % st)
    st, _, _ = req("POST", "/api/export.zip", "sup", {"ids": ["999999"]})
    res.check(st == 404, "a ZIP of nothing exportable: %d" % st)
    st, _, _ = req("POST", "/api/export.zip", "sup", {"ids": ["x"]})
    res.check(st == 400, "bad ids: %d" % st)
    # ---- the web UI: checkboxes and "Download ZIP", the call page's links ------------------
    why = browser_ready()
    if why:
        res.skip("browser export: " + why)
    else:
        bzip, bwav = os.path.join(work, "browser.zip"), os.path.join(work, "browser.wav")
        p = subprocess.run(["node", os.path.join(BROWSER_DIR, "export_test.mjs")],
                           env=dict(os.environ, ES_URL="http://%s:%d/" % (host, port), ES_USER="sup",
                                    ES_AGENT="ag-own", ES_PASSWORD=PW, ES_CHROMIUM=CHROMIUM,
                                    ES_IDS=",".join(ids), ES_AGENT_CALL=str(own["id"]),
                                    ES_ZIP=bzip, ES_WAV=bwav),
                           capture_output=True, text=True, timeout=180)
        print(p.stdout.strip())
        if res.check(p.returncode == 0, "browser export: %s%s" % (p.stdout[-500:], p.stderr[-1500:])):
            t = subprocess.run(["unzip", "-t", bzip], capture_output=True, text=True)
            names = sorted(zipfile.ZipFile(bzip).namelist()) if t.returncode == 0 else []
            res.check(names == sorted(["call-%s.mp3" % i for i in ids] + ["manifest.json"]),
                      "the browser's ZIP: unzip -t %d, %s" % (t.returncode, names))
            info = probe(bwav)
            res.check(info.get("codec_name") == "pcm_s16le" and info.get("channels") == "2",
                      "the browser's WAV: %s" % info)
    after = files_under(data)
    new = sorted(p for p in after - before if not p.endswith(("-wal", "-shm", "-journal")))
    res.check(not new, "files written under the data folder by the exports: %s" % new)
finally:
    rc, err = http_stop(srv)
    res.check(rc == 0 and "Sanitizer" not in err, "server exits cleanly: %s %s" % (rc, err[-300:]))

p = subprocess.run([EARSHOT, "--data", data, "audit", "--json"], capture_output=True, text=True)
entries = [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]
if not entries:
    try:
        doc = json.loads(p.stdout)
        entries = doc if isinstance(doc, list) else doc.get("entries", [])
    except ValueError:
        entries = []
ok_mp3 = [e for e in entries if e.get("action") == "call.export" and e.get("outcome") == "ok" and
          "format mp3" in (e.get("detail") or "") and "sha256 " in (e.get("detail") or "")]
denied = [e for e in entries if e.get("action") in ("call.export", "calls.export_zip") and
          e.get("outcome") == "denied"]
zips = [e for e in entries if e.get("action") == "calls.export_zip" and e.get("outcome") == "ok"]
res.check(ok_mp3 and denied and zips, "audited: %d mp3 exports with hash, %d denials, %d ZIPs" %
          (len(ok_mp3), len(denied), len(zips)))
res.finish()
