#!/usr/bin/env python3
"""Bookmarks, comments and clips on a call (issue #18) over the REST API of a
real `earshot serve` ([api] supervisor_scope = teams) on calls imported from
a generated capture, stored as WAV so that the stored file is the oracle.

- Bookmarks: add (a point, a span), list by time, bad bodies (text over
  2000 characters, control characters, a span the wrong way round, not
  JSON, no CSRF token), delete by the author or an admin only.
- Clips: the audio of /api/clips/{cid}/audio is exactly the stored
  recording's frames of the span (same rate, channels and samples); the
  export is the same WAV as an attachment; an expired clip is gone (410).
- The role matrix: for every user, bookmarks and clips are allowed exactly
  where the call's own /audio (or /export) is; an agent on another agent's
  call, a team-scoped supervisor outside their team and an auditor without
  listening rights get the answer of an absent clip; 0 unexpected allows.
- The audit log has call.bookmark, call.clip and call.listen with the span.
- Deleting the recording (`earshot delete`), erasing a party and dropping
  the call's row remove the call's bookmarks and clips."""
import io
import json
import os
import subprocess
import time
import wave

from estest import (BUILD, EARSHOT, Results, calls_json, earshot, free_port, http_req, http_stop, index_db,
                    http_wait_up, import_capture, plain_recording, run, skip, tmpdir)

GEN = os.path.join(BUILD, "gen_calls")
if not os.path.exists(GEN):
    skip("%s not built" % GEN)

HOST = "127.0.0.1"
PW = "correct horse battery"
res = Results()
work = tmpdir("earshot-bookmarks-")
data = os.path.join(work, "data")
pcap = os.path.join(work, "calls.pcap")
run([GEN, "-o", pcap, "--seed", "7", "--calls", "6", "--duration", "6"])
p, _ = import_capture(data, pcap, extra=("--format", "wav"))
if p.returncode != 0:
    raise RuntimeError("import: %s" % p.stderr)
calls = calls_json(data)
recorded = [c for c in calls if c["recording"]]
if len(recorded) < 3:
    raise RuntimeError("the capture has too few recorded calls")


def parties(c):
    return {c["parties"]["caller"]["user"], c["parties"]["callee"]["user"]}


red_num = recorded[0]["parties"]["caller"]["user"]
inside = recorded[0]
outside = next(c for c in recorded if red_num not in parties(c))
blue_num = outside["parties"]["caller"]["user"]
spare = next(c for c in recorded if c["id"] not in (inside["id"], outside["id"]))

USERS = (("admin1", "admin", "", False), ("sup", "supervisor", "", False),
         ("lead", "supervisor", "", False), ("red1", "agent", red_num, False),
         ("blue1", "agent", blue_num, False), ("audit1", "auditor", "", False),
         ("audit2", "auditor", "", True))
for name, role, numbers, listen in USERS:
    args = ["user", "add", name, "--role", role, "--password-stdin"]
    if numbers:
        args += ["--numbers", numbers]
    if listen:
        args += ["--can-listen"]
    run([EARSHOT, "--data", data] + args, input=PW + "\n")
for args in (("add", "red"), ("members", "red", "--add", "red1"),
             ("members", "red", "--add", "lead", "--supervisor"), ("scope", "sup", "all")):
    earshot(data, "team", *args)

conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[api]\nsupervisor_scope = teams\n")
port = free_port(host=HOST)
server = subprocess.Popen([EARSHOT, "--data", data, "serve", "-c", conf,
                           "--listen", "%s:%d" % (HOST, port)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def req(method, path, body=None, headers=None, cookie=None, raw=False):
    return http_req(HOST, port, method, path, body, headers, cookie, raw=raw, timeout=30)


SESS = {}


def login(name):
    if name not in SESS:
        st, h, b = req("POST", "/api/login", {"name": name, "password": PW})
        ck = None
        for part in h.get("set-cookie", "").split(";"):
            if part.strip().startswith("earshot_session="):
                ck = part.strip().split("=", 1)[1]
        SESS[name] = (ck, {"X-CSRF-Token": b.get("csrf") if isinstance(b, dict) else ""})
    return SESS[name]


def as_user(name, method, path, body=None, raw=False):
    ck, hx = login(name)
    return req(method, path, body, hx, cookie=ck, raw=raw)


def wav_frames(blob):
    with wave.open(io.BytesIO(blob)) as w:
        return w.getframerate(), w.getnchannels(), w.readframes(w.getnframes())


def audit(action):
    p = earshot(data, "audit", "--action", action, "--limit", "1000", "--json", check=False)
    return json.loads(p.stdout) if p.returncode == 0 else []


def db_count(sql, *a):
    db = index_db(data)
    try:
        return db.execute(sql, a).fetchone()[0]
    finally:
        db.close()


# ---- bookmarks ------------------------------------------------------------------------------
def test_bookmarks():
    cid = inside["id"]
    path = "/api/calls/%d/bookmarks" % cid
    st, _, b = as_user("red1", "POST", path, {"at_ms": 3500, "text": "said the number"})
    res.check(st == 201 and b.get("id"), "agent bookmarks their own call: %d %s" % (st, b))
    first = b.get("id") if st == 201 else 0
    st, _, b = as_user("red1", "POST", path, {"at_ms": 1000, "end_ms": 2500, "text": "greeting"})
    res.check(st == 201, "a span bookmark: %d %s" % (st, b))
    st, _, b = as_user("lead", "POST", path, {"at_ms": 5000, "text": "\u00e9" * 2000})
    res.check(st == 201, "2000 characters (4000 bytes) of text: %d %s" % (st, b))
    lead_bm = b.get("id") if st == 201 else 0
    for body, why in (({"at_ms": 1, "text": "x" * 2001}, "2001 characters"),
                      ({"at_ms": 1, "text": "bell\x07"}, "a control character"),
                      ({"at_ms": 1, "text": "   "}, "only spaces"),
                      ({"at_ms": 100, "end_ms": 100, "text": "x"}, "an empty span"),
                      ({"at_ms": -1, "text": "x"}, "a negative time"),
                      ({"at_ms": 1}, "no text"),
                      ({"at_ms": 1, "text": "x", "color": "red"}, "an unknown key")):
        st, _, b = as_user("red1", "POST", path, body)
        res.check(st == 400, "%s -> 400: %d %s" % (why, st, b))
    ck, hx = login("red1")
    st, _, _ = req("POST", path, {"at_ms": 1, "text": "x"}, None, cookie=ck)
    res.check(st == 403, "no CSRF token -> 403: %d" % st)
    st, _, _ = req("POST", path, "at_ms=1", dict(hx, **{"Content-Type": "text/plain"}), cookie=ck)
    res.check(st == 415, "not JSON -> 415: %d" % st)
    st, _, b = as_user("admin1", "GET", path)
    marks = b.get("bookmarks", []) if st == 200 else []
    res.check([(m["at_ms"], m["end_ms"], m["user"]) for m in marks] ==
              [(1000, 2500, "red1"), (3500, None, "red1"), (5000, None, "lead")],
              "the list by time with spans and authors: %s" % marks)
    # delete: the author or an admin
    st, _, _ = as_user("red1", "DELETE", "%s/%d" % (path, lead_bm))
    res.check(st == 403, "an agent may not delete the supervisor's bookmark: %d" % st)
    st, _, _ = as_user("lead", "DELETE", "%s/%d" % (path, first))
    res.check(st == 403, "a supervisor may not delete the agent's bookmark: %d" % st)
    st, _, _ = as_user("red1", "DELETE", "%s/%d" % (path, first))
    res.check(st == 200, "the author deletes: %d" % st)
    st, _, _ = as_user("red1", "DELETE", "%s/%d" % (path, first))
    res.check(st == 404, "deleted twice -> 404: %d" % st)
    st, _, _ = as_user("admin1", "DELETE", "%s/%d" % (path, lead_bm))
    res.check(st == 200, "an admin deletes anyone's: %d" % st)
    acts = [(e["outcome"], e["object"]) for e in audit("call.bookmark")]
    res.check(acts.count(("ok", str(cid))) == 5 and ("denied", str(cid)) in acts,
              "call.bookmark audited (3 adds, 2 deletes, the denials): %s" % acts)


# ---- clips: the span's samples ------------------------------------------------------------
def test_clip_exact():
    cid = inside["id"]
    st, _, c = as_user("red1", "POST", "/api/calls/%d/clips" % cid,
                       {"start_ms": 1250, "end_ms": 3750, "title": "the greeting"})
    res.check(st == 201 and c.get("start_ms") == 1250, "make a clip: %d %s" % (st, c))
    if st != 201:
        return None
    clip = c["id"]
    st, _, meta = as_user("red1", "GET", "/api/clips/%d" % clip)
    res.check(st == 200 and meta.get("call") == cid and meta.get("title") == "the greeting" and
              meta.get("creator") == "red1", "clip metadata: %d %s" % (st, meta))
    full = plain_recording(data, cid, os.path.join(work, "full.wav"))
    with open(full, "rb") as f:
        rate, ch, pcm = wav_frames(f.read())
    st, h, blob = as_user("red1", "GET", "/api/clips/%d/audio" % clip, raw=True)
    res.check(st == 200 and h.get("content-type") == "audio/wav",
              "clip audio: %d %s" % (st, h.get("content-type")))
    if st == 200:
        crate, cch, cpcm = wav_frames(blob)
        a, b = 1250 * rate // 1000 * ch * 2, 3750 * rate // 1000 * ch * 2
        res.check((crate, cch) == (rate, ch), "clip rate/channels %s vs %s"
                  % ((crate, cch), (rate, ch)))
        res.check(cpcm == pcm[a:b], "the clip is exactly the recording's frames %d-%d "
                  "(%d vs %d bytes)" % (a // (2 * ch), b // (2 * ch), len(cpcm), b - a))
    st, h, blob2 = as_user("admin1", "GET", "/api/clips/%d/export" % clip, raw=True)
    res.check(st == 200 and "attachment" in h.get("content-disposition", "") and
              blob2 == blob, "clip export: the same WAV as an attachment: %d %s"
              % (st, h.get("content-disposition")))
    ents = audit("call.listen")
    res.check(any(e["object"] == str(cid) and e["user"] == "red1" and
                  "clip %d: 1250-3750 ms" % clip in e["detail"] for e in ents),
              "call.listen audited with the span: %s" % [e["detail"] for e in ents][-3:])
    res.check(any(e["object"] == str(cid) and "clip %d" % clip in e["detail"]
                  for e in audit("call.export")), "call.export of the clip audited")
    res.check(any(e["object"] == str(cid) and e["outcome"] == "ok"
                  for e in audit("call.clip")), "call.clip audited")
    # bad clips
    for body, why in (({"start_ms": 2000, "end_ms": 2000}, "empty"),
                      ({"start_ms": 0, "end_ms": 11 * 60 * 1000}, "longer than 10 min"),
                      ({"start_ms": 0, "end_ms": 10, "expires_in_s": 0}, "expiry 0"),
                      ({"start_ms": 0, "end_ms": 10, "title": "a\nb"}, "a title with a newline")):
        st, _, b = as_user("red1", "POST", "/api/calls/%d/clips" % cid, body)
        res.check(st == 400, "clip %s -> 400: %d %s" % (why, st, b))
    st, _, c = as_user("red1", "POST", "/api/calls/%d/clips" % cid,
                       {"start_ms": 600000, "end_ms": 600500})
    st, _, b = as_user("red1", "GET", "/api/clips/%d/audio" % c.get("id", 0))
    res.check(st == 416, "a clip after the recording's end -> 416: %d %s" % (st, b))
    st, _, c = as_user("red1", "POST", "/api/calls/%d/clips" % cid,
                       {"start_ms": 0, "end_ms": 500, "expires_in_s": 1})
    time.sleep(1.3)
    st, _, b = as_user("red1", "GET", "/api/clips/%d/audio" % c.get("id", 0))
    res.check(st == 410, "an expired clip -> 410: %d %s" % (st, b))
    return clip


# ---- who may -----------------------------------------------------------------------------
def test_roles(clip_in, clip_out):
    absent = clip_out + 10000
    unexpected = 0
    call_may = {}

    def may_call(name, call, sub):
        """Whether name may GET the call's own sub (/audio, /export): the oracle."""
        if (name, call, sub) not in call_may:
            hdr = {"Range": "bytes=0-1"} if sub == "/audio" else None
            ck, _ = login(name)
            st, _, _ = req("GET", "/api/calls/%d%s" % (call, sub), None, hdr, cookie=ck, raw=True)
            call_may[(name, call, sub)] = (st in (200, 206), st)
        return call_may[(name, call, sub)]
    for name, _, _, _ in USERS:
        for clip, call in ((clip_in, inside["id"]), (clip_out, outside["id"])):
            for sub, call_sub in (("/audio", "/audio"), ("", "/audio"), ("/export", "/export")):
                may, call_st = may_call(name, call, call_sub)
                st, hh, b = as_user(name, "GET", "/api/clips/%d%s" % (clip, sub), raw=True)
                if st == 200 and not may:
                    unexpected += 1
                res.check((st == 200) == may, "%s GET clip %d%s: %d, the call's %s: %d"
                          % (name, clip, sub, st, call_sub, call_st))
                if st == 404:
                    st2, h2, b2 = as_user(name, "GET", "/api/clips/%d%s" % (absent, sub),
                                          raw=True)
                    same = {k: v for k, v in hh.items() if k != "date"} == \
                        {k: v for k, v in h2.items() if k != "date"}
                    res.check(st2 == 404 and b == b2 and same,
                              "%s: a denied clip answers as an absent one" % name)
            # bookmarks and clip making follow listening to the call
            may, _ = may_call(name, call, "/audio")
            for method, path, body in (("GET", "/api/calls/%d/bookmarks", None),
                                       ("POST", "/api/calls/%d/bookmarks",
                                        {"at_ms": 10, "text": "probe"}),
                                       ("POST", "/api/calls/%d/clips",
                                        {"start_ms": 0, "end_ms": 100})):
                st, _, _ = as_user(name, method, path % call, body, raw=True)
                if st in (200, 201) and not may:
                    unexpected += 1
                res.check((st in (200, 201)) == may and (may or st in (403, 404)),
                          "%s %s %s: %d (listen: %s)" % (name, method, path % call, st, may))
    res.check(unexpected == 0, "%d unexpected allows" % unexpected)
    # the expected denials are there, by name
    for name, clip in (("blue1", clip_in), ("lead", clip_out), ("audit1", clip_in)):
        st, _, _ = as_user(name, "GET", "/api/clips/%d/audio" % clip)
        res.check(st in (403, 404), "%s may not play clip %d: %d" % (name, clip, st))
    st, _, _ = as_user("audit2", "GET", "/api/clips/%d/audio" % clip_in, raw=True)
    res.check(st == 200, "an auditor with listening rights plays the clip: %d" % st)


# ---- removal with the call ------------------------------------------------------------------
def test_removal():
    def counts(call):
        return (db_count("SELECT count(*) FROM call_bookmarks WHERE call_row = ?", call),
                db_count("SELECT count(*) FROM call_clips WHERE call_row = ?", call))
    cid = spare["id"]
    for _ in range(2):
        as_user("admin1", "POST", "/api/calls/%d/bookmarks" % cid, {"at_ms": 5, "text": "x"})
        as_user("admin1", "POST", "/api/calls/%d/clips" % cid, {"start_ms": 0, "end_ms": 9})
    res.check(counts(cid) == (2, 2), "the spare call has its bookmarks: %s" % (counts(cid),))
    p = earshot(data, "delete", str(cid), "--yes", check=False)
    res.check(p.returncode == 0, "earshot delete: %d %s" % (p.returncode, p.stderr))
    res.check(counts(cid) == (0, 0), "deleting the recording removes them: %s" % (counts(cid),))
    # a data-subject erasure on the call outside
    cid = outside["id"]
    as_user("admin1", "POST", "/api/calls/%d/bookmarks" % cid, {"at_ms": 5, "text": "name"})
    n0 = counts(cid)
    p = earshot(data, "subject", "erase", "--party", blue_num, "--reason", "req-1", "--yes", check=False)
    res.check(n0[0] >= 1 and p.returncode == 0 and counts(cid) == (0, 0),
              "an erasure removes them: %s -> %s (%d %s)" % (n0, counts(cid), p.returncode,
                                                             p.stderr[-200:]))
    # the call's row dropped (retention with drop_metadata): the cascade
    cid = inside["id"]
    res.check(counts(cid)[0] >= 1, "the inside call has bookmarks: %s" % (counts(cid),))
    db = index_db(data)
    try:
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("DELETE FROM calls WHERE id = ?", (cid,))
        db.commit()
    finally:
        db.close()
    res.check(counts(cid) == (0, 0), "a dropped call's row takes them: %s" % (counts(cid),))


try:
    if not http_wait_up(HOST, port, server):
        raise RuntimeError("serve did not come up: %s" % server.stderr.read())
    test_bookmarks()
    clip_in = test_clip_exact()
    st, _, c = as_user("sup", "POST", "/api/calls/%d/clips" % outside["id"],
                       {"start_ms": 500, "end_ms": 1500})
    res.check(st == 201, "a supervisor clips a call outside red: %d %s" % (st, c))
    if clip_in and st == 201:
        test_roles(clip_in, c["id"])
    test_removal()
finally:
    rc, err = http_stop(server)
    res.check(rc == 0, "serve stops cleanly: %s %s" % (rc, err[-300:]))
res.finish()
