"""The REST API over real HTTP (`earshot serve` on 127.0.0.1:18080): login,
logout, me, the rate limiter (429 after 5 failures, from a second loopback
address), the role matrix (admin, supervisor, agent with numbers of some
calls, auditor without and with can_listen) x every endpoint x own/foreign
call with zero unexpected allows, audio equal to `earshot export` byte for
byte with Range requests, CSRF, bearer tokens, injection and traversal
attempts in every parameter, oversized bodies, bad cookies, the audit log
(logins, a listen, a denial; `earshot audit --verify`), a tampered
recording, and a clean stop on SIGTERM.  Prints p50/p95 of 200 searches.
The waveform (/peaks): its role matrix, parameters, audit, and its values
against a reduction computed here from the WAV `earshot export` writes,
for plain and encrypted Opus and encrypted FLAC recordings of a capture
with pauses (each served by a second server on its own free port)."""
import concurrent.futures
import http.client
import json
import os
import subprocess
import time
import urllib.parse
import wave

from estest import (free_port, BUILD, EARSHOT, Results, calls_json, earshot, http_req, http_stop, http_wait_up,
                    import_capture, index_db, run, skip, tmpdir)

GEN = os.path.join(BUILD, "gen_calls")
if not os.path.exists(GEN):
    skip("%s not built" % GEN)

HOST = "127.0.0.1"
PORT = free_port(host=HOST)  # no fixed port: any program may hold one
PW = "correct horse battery"
res = Results()
work = tmpdir("earshot-api-")
data = os.path.join(work, "data")
pcap = os.path.join(work, "calls.pcap")
run([GEN, "-o", pcap, "--seed", "7", "--calls", "8", "--duration", "6"])
p, _ = import_capture(data, pcap)
if p.returncode != 0:
    raise RuntimeError("import: %s" % p.stderr)
calls = calls_json(data)
recorded = [c for c in calls if c["recording"]]
if len(recorded) < 4:
    raise RuntimeError("the capture has too few recorded calls")

# The agent owns two calls: the caller of one, the callee of another.
own_a, own_b = recorded[0], recorded[1]
agent_numbers = "%s,%s" % (own_a["parties"]["caller"]["user"], own_b["parties"]["callee"]["user"])
own_ids = {c["id"] for c in calls if c["parties"]["caller"]["user"] in agent_numbers.split(",")
           or c["parties"]["callee"]["user"] in agent_numbers.split(",")}
foreign = [c for c in recorded if c["id"] not in own_ids][0]

USERS = {
    "admin1": ("admin", "", False),
    "super1": ("supervisor", "", False),
    "agent1": ("agent", agent_numbers, False),
    "audit1": ("auditor", "", False),
    "audit2": ("auditor", "", True),
    "victim": ("agent", "", False),
}
for name, (role, numbers, can_listen) in USERS.items():
    args = ["user", "add", name, "--role", role, "--password-stdin"]
    if numbers:
        args += ["--numbers", numbers]
    if can_listen:
        args.append("--can-listen")
    run([EARSHOT, "--data", data] + args, input=PW + "\n")
token = json.loads(earshot(data, "user", "token", "super1", "--json").stdout)["token"]

server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (HOST, PORT),
                           "--threads", "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def connect(source=None):
    return http.client.HTTPConnection(HOST, PORT, timeout=20,
                                      source_address=(source, 0) if source else None)


def req(method, path, body=None, headers=None, cookie=None, source=None, raw=False):
    """(status, headers dict (lower-case names), body bytes or parsed JSON)"""
    return http_req(HOST, PORT, method, path, body, headers, cookie, source, raw, timeout=20)


def wait_up():
    return http_wait_up(HOST, PORT, server, tries=100)


def login(name, password=PW, source=None):
    st, h, b = req("POST", "/api/login", {"name": name, "password": password}, source=source)
    cookie = None
    for part in h.get("set-cookie", "").split(";"):
        if part.strip().startswith("earshot_session="):
            cookie = part.strip().split("=", 1)[1]
    return st, h, b, cookie


def deny_status(rule):
    """How a refusal is answered: 403 when the role may not do it on any call,
    404 "no such call" when only the own-call rule refuses (issue #13, 13a:
    an agent cannot tell another's call from an absent one)."""
    return 404 if rule == "own" else 403


def wav_peaks(path, points):
    """The /peaks reduction, written from its documentation: point i covers
    frames [ceil(i*T/N), ceil((i+1)*T/N)); a value is round(max |s| * 255 /
    32768), at most 255.  (channels, T, rate, per channel a list)"""
    w = wave.open(path, "rb")
    ch, t, rate = w.getnchannels(), w.getnframes(), w.getframerate()
    raw = w.readframes(t)
    w.close()
    import array
    a = array.array("h")
    a.frombytes(raw)
    if os.sys.byteorder != "little":
        a.byteswap()
    out = []
    for c in range(ch):
        col = a[c::ch]
        vals = []
        for i in range(points):
            lo, hi = (i * t + points - 1) // points, ((i + 1) * t + points - 1) // points
            seg = col[lo:hi]
            m = max(max(seg), -min(seg)) if len(seg) else 0
            vals.append(min(255, (m * 255 + 16384) // 32768))
        out.append(vals)
    return ch, t, rate, out


def peaks_diff(a, b):
    """How far two peaks arrays differ: the largest difference, or 999 if the
    shapes differ or more than 1 % of the values are not equal (the server
    decodes with the same reader as the export, so even Opus should match
    exactly; 1 for rounding leaves room for a decoder's float paths)."""
    if len(a) != len(b) or any(len(x) != len(y) for x, y in zip(a, b)):
        return 999
    diffs = [abs(p - q) for x, y in zip(a, b) for p, q in zip(x, y)]
    if sum(1 for d in diffs if d) * 100 > len(diffs):
        return 999
    return max(diffs, default=0)


try:
    if not res.check(wait_up(), "server did not come up: %s" % (server.stderr.read()
                                                               if server.poll() is not None else "")):
        res.finish()

    # ---- login, me, logout --------------------------------------------------------------
    st, h, b, admin = login("admin1")
    res.check(st == 200 and b.get("user") == "admin1" and b.get("role") == "admin" and b.get("csrf"),
              "login ok: %s %s" % (st, b))
    sc = h.get("set-cookie", "")
    res.check("HttpOnly" in sc and "SameSite=Strict" in sc and "Path=/" in sc and admin,
              "session cookie flags: %s" % sc)
    for k, v in (("x-content-type-options", "nosniff"), ("referrer-policy", "no-referrer"),
                 ("cache-control", "no-store")):
        res.check(h.get(k) == v, "header %s: %s" % (k, h.get(k)))
    res.check("default-src 'none'" in h.get("content-security-policy", ""), "CSP header")
    admin_csrf = b["csrf"]
    st, _, b, _ = login("admin1", "wrong password!")
    res.check(st == 401 and b.get("error") == "unauthorized", "bad password -> 401: %s" % st)
    st, _, b, _ = login("nosuchuser")
    res.check(st == 401, "unknown user -> 401: %s" % st)
    st, _, b = req("POST", "/api/login", body="name=admin1&password=x",
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    res.check(st == 415, "form-encoded login -> 415: %s" % st)
    for bad, param in (("{", "body"), ('{"name":"admin1"}', "password"),
                       ('{"name":"../etc","password":"x"}', "name"),
                       ('{"name":1,"password":"x"}', "name"), ("[]", "body"), ("", "body"),
                       ('{"name":"a","password":"b","x":1}', "body")):
        st, _, b = req("POST", "/api/login", body=bad, headers={"Content-Type": "application/json"})
        res.check(st == 400 and b.get("parameter") == param, "login body %r -> 400 %s: %s %s"
                  % (bad, param, st, b))
    st, _, b = req("GET", "/api/me", cookie=admin)
    res.check(st == 200 and b["user"] == "admin1" and b["auth"] == "session", "me: %s %s" % (st, b))
    st, _, b = req("GET", "/api/me")
    res.check(st == 401, "me without auth -> 401: %s" % st)

    sessions = {"admin1": admin}
    csrf = {"admin1": admin_csrf}
    for name in USERS:
        if name in ("admin1", "victim"):
            continue
        st, _, b, ck = login(name)
        res.check(st == 200 and ck, "login %s: %s" % (name, st))
        sessions[name] = ck
        csrf[name] = b.get("csrf")

    # ---- the role matrix ------------------------------------------------------------------
    # expected allows, written from the table in api.h (independently of the code)
    ALLOW = {
        "admin": {"view": "all", "listen": "all", "verify": "all", "audit": True, "users": True},
        "supervisor": {"view": "all", "listen": "all", "verify": "all", "audit": False, "users": False},
        "agent": {"view": "own", "listen": "own", "verify": "none", "audit": False, "users": False},
        "auditor": {"view": "all", "listen": "none", "verify": "all", "audit": True, "users": False},
        "auditor+listen": {"view": "all", "listen": "all", "verify": "all", "audit": True, "users": False},
    }
    unexpected_allows = unexpected_denies = cells = 0
    targets = {"own": own_a["id"], "foreign": foreign["id"]}
    for name in ("admin1", "super1", "agent1", "audit1", "audit2"):
        role, _, can_listen = USERS[name]
        key = role + ("+listen" if can_listen else "")
        ck = sessions[name]
        for endpoint, path in (("view", "/api/calls/%d"), ("listen", "/api/calls/%d/audio"),
                               ("verify", "/api/calls/%d/verify?quick=1")):
            for which, cid in targets.items():
                want = ALLOW[key][endpoint] == "all" or (ALLOW[key][endpoint] == "own" and which == "own")
                deny = deny_status(ALLOW[key][endpoint])
                st, _, _ = req("GET", path % cid, cookie=ck, raw=True)
                cells += 1
                got = st in (200, 206)
                if got and not want:
                    unexpected_allows += 1
                if not res.check(got == want and (got or st == deny),
                                 "%s %s %s call: %d (want %s)" % (name, endpoint, which, st,
                                                                  "allow" if want else deny)):
                    if not got and want:
                        unexpected_denies += 1
        for endpoint, path in (("audit", "/api/audit?limit=5"), ("audit", "/api/audit/verify"),
                               ("users", "/api/users")):
            want = ALLOW[key][endpoint]
            st, _, _ = req("GET", path, cookie=ck)
            cells += 1
            got = st == 200
            if got and not want:
                unexpected_allows += 1
            res.check(got == want and (got or st == 403), "%s %s: %d" % (name, path, st))
        # search: which calls the list shows
        st, _, b = req("GET", "/api/calls?limit=500", cookie=ck)
        ids = {c["id"] for c in b["calls"]} if st == 200 else set()
        cells += 1
        if key == "agent":
            if ids - own_ids:
                unexpected_allows += 1
            res.check(st == 200 and ids == own_ids, "agent search shows own calls only: %s vs %s"
                      % (sorted(ids), sorted(own_ids)))
        else:
            res.check(st == 200 and ids == {c["id"] for c in calls}, "%s search shows all" % name)
    res.check(unexpected_allows == 0, "unexpected allows: %d" % unexpected_allows)
    print("role matrix: %d cells, %d unexpected allows, %d unexpected denies"
          % (cells, unexpected_allows, unexpected_denies))
    # ---- tags, notes, evidence: the role matrix --------------------------------------------
    # from api.h: tag = admin/supervisor all, agent own, auditor never; reading tags and
    # notes follows view; export = admin/supervisor all, auditor only with can_listen,
    # agent never
    TAGS = {"admin": "all", "supervisor": "all", "agent": "own", "auditor": "none",
            "auditor+listen": "none"}
    EXPORT = {"admin": "all", "supervisor": "all", "agent": "none", "auditor": "none",
              "auditor+listen": "all"}
    ua2 = ud2 = cells2 = 0
    zips = {}
    for name in ("admin1", "super1", "agent1", "audit1", "audit2"):
        role, _, can_listen = USERS[name]
        key = role + ("+listen" if can_listen else "")
        ck = sessions[name]
        hx = {"X-CSRF-Token": csrf[name]}
        for which, cid in targets.items():
            def allowed(rule):
                return rule == "all" or (rule == "own" and which == "own")
            tag = "m-%s-%s" % (name, which)
            cases = (
                ("tags.get", ALLOW[key]["view"], (200,),
                 lambda: req("GET", "/api/calls/%d/tags" % cid, cookie=ck)),
                ("notes.get", ALLOW[key]["view"], (200,),
                 lambda: req("GET", "/api/calls/%d/notes" % cid, cookie=ck)),
                ("tag.post", TAGS[key], (201,),
                 lambda: req("POST", "/api/calls/%d/tags" % cid, {"tag": tag}, cookie=ck, headers=hx)),
                ("tag.delete", TAGS[key], (200,),
                 lambda: req("DELETE", "/api/calls/%d/tags/%s" % (cid, tag), cookie=ck, headers=hx)),
                ("note.post", TAGS[key], (201,),
                 lambda: req("POST", "/api/calls/%d/notes" % cid, {"text": "note by %s" % name},
                             cookie=ck, headers=hx)),
                ("evidence", EXPORT[key], (200,),
                 lambda: req("GET", "/api/calls/%d/evidence" % cid, cookie=ck, raw=True)),
                # the call's SIP ladder follows view; its rebuilt capture is an export
                ("sip", ALLOW[key]["view"], (200,),
                 lambda: req("GET", "/api/calls/%d/sip" % cid, cookie=ck, raw=True)),
                ("pcap", EXPORT[key], (200,),
                 lambda: req("GET", "/api/calls/%d/pcap" % cid, cookie=ck, raw=True)),
            )
            for ep, rule, okst, call in cases:
                want, deny = allowed(rule), deny_status(rule)
                st, h, body = call()
                cells2 += 1
                got = st in okst
                if got and not want:
                    ua2 += 1
                if not res.check(got == want and (got or st == deny),
                                 "%s %s %s call: %d (want %s)" % (name, ep, which, st,
                                                                  "allow" if want else deny)):
                    if want and not got:
                        ud2 += 1
                if ep == "evidence" and got:
                    zips[(name, which)] = (h, body)
    res.check(ua2 == 0, "tags/notes/evidence: unexpected allows: %d" % ua2)
    print("tags/notes/evidence role matrix: %d cells, %d unexpected allows, %d unexpected denies"
          % (cells2, ua2, ud2))
    # the evidence ZIP: headers, and it verifies with earshot-verify-evidence
    h, body = zips.get(("admin1", "own"), ({}, b""))
    res.check(h.get("content-type") == "application/zip" and body[:2] == b"PK" and
              h.get("content-disposition") == 'attachment; filename="call-%d-evidence.zip"' % own_a["id"],
              "evidence headers: %s" % {k: v for k, v in h.items() if k.startswith("content")})
    zpath = os.path.join(work, "api-evidence.zip")
    with open(zpath, "wb") as f:
        f.write(body)
    vp = run([os.path.join(BUILD, "earshot-verify-evidence"), zpath], check=False)
    res.check(vp.returncode == 0, "API evidence ZIP verifies: %d %s%s" % (vp.returncode, vp.stdout, vp.stderr))
    h2, body2 = zips.get(("audit2", "foreign"), ({}, b""))
    zpath2 = os.path.join(work, "api-evidence-2.zip")
    with open(zpath2, "wb") as f:
        f.write(body2)
    vp = run([os.path.join(BUILD, "earshot-verify-evidence"), zpath2], check=False)
    res.check(vp.returncode == 0, "auditor's evidence ZIP verifies: %d" % vp.returncode)
    leftovers = [f for f in os.listdir(os.path.join(data, "run")) if "evidence" in f] \
        if os.path.isdir(os.path.join(data, "run")) else []
    res.check(leftovers == [], "no evidence temporaries left in DATA/run: %s" % leftovers)
    st, _, b = req("GET", "/api/calls/999999/evidence", cookie=admin)
    res.check(st == 404, "evidence of no call -> 404: %d" % st)
    norec = [c for c in calls if not c["recording"]]
    if norec:
        st, _, b = req("GET", "/api/calls/%d/evidence" % norec[0]["id"], cookie=admin)
        res.check(st == 404, "evidence of a call without recording -> 404: %d" % st)

    # ---- tags and notes: behaviour, validation, CSRF --------------------------------------------
    tid = own_a["id"]
    tpath = "/api/calls/%d/tags" % tid
    ahx = {"X-CSRF-Token": admin_csrf}
    st, _, b = req("POST", tpath, {"tag": "Needs review"}, cookie=admin, headers=ahx)
    res.check(st == 201 and "Needs review" in b.get("tags", []), "add a tag: %d %s" % (st, b))
    st, _, b = req("POST", tpath, {"tag": "needs REVIEW"}, cookie=admin, headers=ahx)
    res.check(st == 409 and b.get("error") == "exists", "same tag in another case -> 409: %d" % st)
    st, _, b = req("POST", tpath, {"tag": "csrf-less"}, cookie=admin)
    res.check(st == 403 and b.get("error") == "csrf", "tag without CSRF -> 403: %d" % st)
    st, _, b = req("POST", tpath, {"tag": "csrf-wrong"}, cookie=admin, headers={"X-CSRF-Token": "0" * 64})
    res.check(st == 403 and b.get("error") == "csrf", "tag with a wrong CSRF token -> 403: %d" % st)
    st, _, b = req("POST", "/api/calls/%d/notes" % tid, {"text": "x"}, cookie=admin)
    res.check(st == 403 and b.get("error") == "csrf", "note without CSRF -> 403: %d" % st)
    st, _, b = req("DELETE", tpath + "/Needs%20review", cookie=admin)
    res.check(st == 403 and b.get("error") == "csrf", "untag without CSRF -> 403: %d" % st)
    st, _, b = req("POST", tpath, {"tag": "by-token"}, headers={"Authorization": "Bearer " + token})
    res.check(st == 201, "tag with a bearer token (no CSRF needed) -> 201: %d" % st)
    bad_tags = ["a" * 41, "", " lead", "trail ", "a/b", "<script>", "' OR 1=1 --",
                "x'; DROP TABLE call_tags; --", "1 UNION SELECT * FROM users", "tab\there",
                "caf\u00e9", "../../etc/passwd", "%00", "a\u0000b"]
    for bt in bad_tags:
        st, _, b = req("POST", tpath, body='{"tag": "%s"}' % bt.replace("'", "'"),
                       headers=dict(ahx, **{"Content-Type": "application/json"}), cookie=admin)
        res.check(st == 400 and b.get("parameter") == "tag", "bad tag %r -> 400: %d" % (bt, st))
    for body_ in ('{"tag": 5}', '{"tags": "x"}', '{"tag": "x", "tag": "y"}', "[]", "{", "",
                  '{"tag": "x"} trailing'):
        st, _, b = req("POST", tpath, body=body_, cookie=admin,
                       headers=dict(ahx, **{"Content-Type": "application/json"}))
        res.check(st == 400, "bad tag body %r -> 400: %d" % (body_, st))
    st, _, b = req("POST", tpath, body="tag=x", cookie=admin,
                   headers=dict(ahx, **{"Content-Type": "application/x-www-form-urlencoded"}))
    res.check(st == 415, "form-encoded tag -> 415: %d" % st)
    for seg in ("%27%20OR%201%3D1%20--", "a%2Fb", "..", "a" * 41):
        st, _, _ = req("DELETE", tpath + "/" + seg, cookie=admin, headers=ahx)
        res.check(st in (400, 404), "untag %s -> 400/404: %d" % (seg, st))
    st, _, _ = req("DELETE", tpath + "/not-there", cookie=admin, headers=ahx)
    res.check(st == 404, "untag an absent tag -> 404: %d" % st)
    st, _, _ = req("PUT", tpath, {"tag": "x"}, cookie=admin, headers=ahx)
    res.check(st == 405, "PUT tags -> 405: %d" % st)
    st, _, b = req("GET", "/api/calls/%d" % tid, cookie=admin)
    res.check(st == 200 and b.get("tags") == ["by-token", "Needs review"],
              "call detail has its tags: %s" % b.get("tags"))
    st, _, b = req("GET", "/api/calls?tag=needs%20review", cookie=admin)
    res.check(st == 200 and [c["id"] for c in b["calls"]] == [tid], "tag= filter: %s"
              % [c["id"] for c in b.get("calls", [])])
    st, _, b = req("GET", "/api/calls?tag=needs%20review", cookie=sessions["agent1"])
    res.check(st == 200 and [c["id"] for c in b["calls"]] == [tid], "agent tag= filter on own call")
    st, _, b = req("DELETE", tpath + "/by-TOKEN", cookie=admin, headers=ahx)
    res.check(st == 200 and b.get("tags") == ["Needs review"], "untag (any case): %d %s" % (st, b))
    npath = "/api/calls/%d/notes" % tid
    for text in ("", "   ", "a" * 4001, "bell\u0007"):
        st, _, b = req("POST", npath, body='{"text": "%s"}' % text, cookie=admin,
                       headers=dict(ahx, **{"Content-Type": "application/json"}))
        res.check(st == 400 and b.get("parameter") == "text", "bad note %r... -> 400: %d" % (text[:10], st))
    st, _, b = req("POST", npath, {"text": "\u00e9" * 2000}, cookie=admin, headers=ahx)
    res.check(st == 201, "a note of 4000 bytes -> 201: %d" % st)
    st, _, b = req("POST", npath, {"text": "Customer asked for a callback.\n<b>not html</b>"},
                   cookie=admin, headers=ahx)
    res.check(st == 201 and b["notes"][-1]["text"] == "Customer asked for a callback.\n<b>not html</b>"
              and b["notes"][-1]["user"] == "admin1", "add a note: %d" % st)
    st, _, b = req("GET", npath, cookie=sessions["audit1"])
    res.check(st == 200 and len(b["notes"]) >= 3, "auditor reads notes: %d" % st)

    # agent paging stays correct with the filter: one call a page
    seen, cur = [], None
    for _ in range(20):
        st, _, b = req("GET", "/api/calls?limit=1" + ("&cursor=" + cur if cur else ""),
                       cookie=sessions["agent1"])
        seen += [c["id"] for c in b["calls"]]
        cur = b["next_cursor"]
        if not cur:
            break
    res.check(sorted(seen) == sorted(own_ids) and len(seen) == len(set(seen)),
              "agent pages: %s" % seen)
    # admin paging covers every call exactly once
    seen, cur = [], None
    for _ in range(50):
        st, _, b = req("GET", "/api/calls?limit=3" + ("&cursor=" + cur if cur else ""), cookie=admin)
        seen += [c["id"] for c in b["calls"]]
        cur = b["next_cursor"]
        if not cur:
            break
    res.check(seen == [c["id"] for c in calls], "admin pages in list order: %s" % seen)
    # newest first, paged: the exact reverse
    seen, cur = [], None
    for _ in range(50):
        st, _, b = req("GET", "/api/calls?sort=-start&limit=2" + ("&cursor=" + cur if cur else ""),
                       cookie=admin)
        seen += [c["id"] for c in b["calls"]]
        cur = b["next_cursor"]
        if not cur:
            break
    res.check(seen == [c["id"] for c in reversed(calls)], "sort=-start pages: %s" % seen)

    # ---- every filter against the same selection made here from `earshot calls --json` ---------
    def ids(query):
        st_, _, b_ = req("GET", "/api/calls?limit=500&" + query, cookie=admin)
        return st_, [c["id"] for c in b_["calls"]] if st_ == 200 else b_

    def dur(c):
        return c.get("duration_s") or 0

    codecs = sorted({x for c in calls for s_ in c.get("streams", []) for x in
                     (s_.get("codecs") or "").split(",") if x})
    for codec in codecs[:3] + [codecs[0].lower()] if codecs else []:
        want = [c["id"] for c in calls if any(codec.lower() in (s_.get("codecs") or "").lower().split(",")
                                              for s_ in c.get("streams", []))]
        res.check(ids("codec=" + urllib.parse.quote(codec)) == (200, want),
                  "codec=%s: %s, want %s" % (codec, ids("codec=" + codec), want))
    flags = sorted({f for c in calls for f in (c.get("flags") or []) +
                    ((c.get("recording") or {}).get("flags") or [])})
    for flag in flags:
        want = [c["id"] for c in calls if flag in (c.get("flags") or []) +
                ((c.get("recording") or {}).get("flags") or [])]
        res.check(ids("flag=" + flag) == (200, want), "flag=%s: %s, want %s" %
                  (flag, ids("flag=" + flag), want))
    res.check(ids("flag=no_such_flag") == (200, []), "an unknown flag matches nothing")
    sources = sorted({c.get("source") for c in calls if c.get("source")})
    for src in sources + ["live"]:
        want = [c["id"] for c in calls if c.get("source") == src]
        res.check(ids("source=" + src) == (200, want), "source=%s: %s" % (src, ids("source=" + src)))
    durs = sorted({int(dur(c)) for c in calls})
    for m in durs[:3]:
        want = [c["id"] for c in calls if dur(c) <= m]
        res.check(ids("max_duration=%d" % m) == (200, want), "max_duration=%d: %s, want %s" %
                  (m, ids("max_duration=%d" % m), want))
        want = [c["id"] for c in calls if dur(c) >= m and c.get("answer")]
        if m:
            res.check(ids("min_duration=%d&max_duration=%d" % (m, m + 1)) ==
                      (200, [c["id"] for c in calls if m <= dur(c) <= m + 1 and c.get("answer")]),
                      "min and max duration together around %d s" % m)
    for bad in ("sort=start2", "sort=-duration", "codec=PC%20MU", "flag=one-way", "source=a%27b",
                "max_duration=-1"):
        st, body_ = ids(bad)
        res.check(st == 400 and body_.get("parameter") == bad.split("=")[0],
                  "%s -> 400 naming it: %s %s" % (bad, st, body_))
    ids("flag=one_way&source=import&max_duration=3600")
    st, _, b = req("GET", "/api/audit?action=call.search&limit=1", cookie=admin)
    det = (b["entries"][-1].get("detail") or "") if st == 200 and b["entries"] else ""
    res.check(all(x in det for x in ("flag=one_way", "source=import", "max_duration=3600")),
              "the search audit names its filters: %r" % det)
    st, _, b = req("GET", "/api/calls/999999", cookie=admin)
    res.check(st == 404, "no such call -> 404: %d" % st)

    # ---- call detail equals `earshot show --json` ----------------------------------------------
    st, _, b = req("GET", "/api/calls/%d" % own_a["id"], cookie=admin)
    show = json.loads(earshot(data, "show", "--json", str(own_a["id"])).stdout)
    tags_ = b.pop("tags", None) if isinstance(b, dict) else None
    res.check(st == 200 and b == show and isinstance(tags_, list),
              "detail equals earshot show --json (plus its tags)")
    st, _, b = req("GET", "/api/calls/%d/verify" % own_a["id"], cookie=admin)
    res.check(st == 200 and b.get("ok") is True and b["findings"] == [], "verify ok: %s" % b)

    # ---- audio and Range -------------------------------------------------------------------
    rec = own_a["recording"]
    out = os.path.join(work, "plain." + rec["format"])
    earshot(data, "export", str(own_a["id"]), "-o", out)
    plain = open(out, "rb").read()
    size = len(plain)
    apath = "/api/calls/%d/audio" % own_a["id"]
    st, h, body = req("GET", apath, cookie=admin, raw=True)
    res.check(st == 200 and body == plain, "full audio equals the export (%d vs %d bytes)"
              % (len(body), size))
    res.check(h.get("accept-ranges") == "bytes" and h.get("content-type", "").startswith("audio/"),
              "audio headers: %s" % h)
    for rng, lo, hi in (("bytes=0-99", 0, 99), ("bytes=1000-1999", 1000, 1999),
                        ("bytes=-500", size - 500, size - 1), ("bytes=5000-", 5000, size - 1),
                        ("bytes=%d-%d" % (size - 10, size + 1000), size - 10, size - 1)):
        st, h, body = req("GET", apath, cookie=admin, headers={"Range": rng}, raw=True)
        res.check(st == 206 and body == plain[lo:hi + 1] and
                  h.get("content-range") == "bytes %d-%d/%d" % (lo, hi, size),
                  "Range %s: %d %s (%d bytes)" % (rng, st, h.get("content-range"), len(body)))
    for rng in ("bytes=%d-" % size, "bytes=%d-%d" % (size + 5, size + 10), "bytes=-0"):
        st, h, _ = req("GET", apath, cookie=admin, headers={"Range": rng}, raw=True)
        res.check(st == 416 and h.get("content-range") == "bytes */%d" % size,
                  "Range %s -> 416: %d %s" % (rng, st, h.get("content-range")))
    st, _, body = req("GET", apath, cookie=admin, headers={"Range": "bytes=0-1,5-6"}, raw=True)
    res.check(st == 200 and body == plain, "several ranges -> the whole file: %d" % st)
    st, _, body = req("GET", apath, cookie=admin, headers={"Range": "lines=1-2"}, raw=True)
    res.check(st == 200 and body == plain, "other units ignored: %d" % st)
    # parallel streams
    def fetch(i):
        lo = (i * 997) % size
        return req("GET", apath, cookie=admin, headers={"Range": "bytes=%d-" % lo}, raw=True)[2] == plain[lo:]
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        oks = list(ex.map(fetch, range(48)))
    res.check(all(oks), "48 parallel range requests: %d good" % sum(oks))

    # ---- the waveform (/peaks) ---------------------------------------------------------------
    # role matrix: as listening (api.h), own/foreign x every role
    pk_cells = pk_ua = 0
    for name in ("admin1", "super1", "agent1", "audit1", "audit2"):
        role, _, can_listen = USERS[name]
        key = role + ("+listen" if can_listen else "")
        for which, cid in targets.items():
            want = ALLOW[key]["listen"] == "all" or (ALLOW[key]["listen"] == "own" and which == "own")
            deny = deny_status(ALLOW[key]["listen"])
            st, _, b = req("GET", "/api/calls/%d/peaks?points=64" % cid, cookie=sessions[name])
            pk_cells += 1
            got = st == 200
            if got and not want:
                pk_ua += 1
            res.check(got == want and (got or st == deny),
                      "%s peaks %s call: %d (want %s)" % (name, which, st, "allow" if want else deny))
    res.check(pk_ua == 0, "peaks: unexpected allows: %d" % pk_ua)
    print("peaks role matrix: %d cells, %d unexpected allows" % (pk_cells, pk_ua))
    ppath = "/api/calls/%d/peaks" % own_a["id"]
    for q in ("points=0", "points=15", "points=4001", "points=abc", "points=", "points=-20",
              "points=1e3", "points=16.0", "points=%2B100", "points=00000100", "points=100&points=100"):
        st, _, b = req("GET", ppath + "?" + q, cookie=admin)
        res.check(st == 400 and b.get("parameter") == "points", "peaks ?%s -> 400 naming points: %d %s"
                  % (q, st, b))
    st, _, b = req("GET", ppath + "?points=100&x=1", cookie=admin)
    res.check(st == 400 and b.get("parameter") == "x", "peaks unknown parameter -> 400: %d %s" % (st, b))
    st, _, b = req("GET", "/api/calls/999999/peaks", cookie=admin)
    res.check(st == 404, "peaks of no call -> 404: %d" % st)
    st, _, b = req("GET", ppath)
    res.check(st == 401, "peaks without auth -> 401: %d" % st)
    if norec:
        st, _, b = req("GET", "/api/calls/%d/peaks" % norec[0]["id"], cookie=admin)
        res.check(st == 404 and b.get("error") == "no_recording",
                  "peaks of a call without recording -> 404: %d %s" % (st, b))
    else:
        res.skip("peaks of a call without recording: every call has one")
    # default points, shape, headers, and the values against the export (own_a: encrypted Opus)
    t0 = time.perf_counter()
    st, h, b = req("GET", ppath, cookie=admin)
    t_first = (time.perf_counter() - t0) * 1000
    wav = os.path.join(work, "peaks-%d.wav" % own_a["id"])
    earshot(data, "export", str(own_a["id"]), "-o", wav)
    ch, t, rate, ref = wav_peaks(wav, 1000)
    ok = st == 200 and b.get("points") == 1000 and b.get("channels") == ch == 2
    res.check(ok and b.get("call") == own_a["id"] and b.get("scale") == 255 and
              abs(b.get("duration_s", 0) - t / rate) < 0.002 and len(b.get("peaks", [])) == 2,
              "peaks shape (default 1000 points): %d %s" % (st, {k: v for k, v in (b if ok else {}).items()
                                                                  if k != "peaks"}))
    res.check(h.get("cache-control") == "no-store" and h.get("content-type", "").startswith("application/json"),
              "peaks headers: %s" % h)
    d = peaks_diff(b.get("peaks", []), ref) if ok else 999
    res.check(d <= 1, "peaks equal the reduction of the exported WAV (largest difference %d)" % d)
    res.check(ok and max(b["peaks"][0]) > 20 and max(b["peaks"][1]) > 20, "peaks are not flat")
    t0 = time.perf_counter()
    st, _, b2 = req("GET", ppath, cookie=admin)
    t_cached = (time.perf_counter() - t0) * 1000
    res.check(st == 200 and b2 == b, "cached peaks are the same: %d" % st)
    print("peaks of a %.1f s call: %.1f ms computed, %.1f ms cached" % (t / rate, t_first, t_cached))
    st, _, b3 = req("GET", ppath + "?points=16", cookie=sessions["agent1"])
    ref16 = wav_peaks(wav, 16)[3]
    res.check(st == 200 and b3["points"] == 16 and peaks_diff(b3["peaks"], ref16) <= 1,
              "agent's own peaks, 16 points: %d" % st)
    st, _, b4 = req("GET", ppath + "?points=4000", cookie=admin)
    res.check(st == 200 and peaks_diff(b4["peaks"], wav_peaks(wav, 4000)[3]) <= 1,
              "4000 points equal the reduction: %d" % st)
    def pk_fetch(i):
        st_, _, bb = req("GET", ppath + "?points=%d" % (100 + i % 4), cookie=admin)
        return st_ == 200 and bb["points"] == 100 + i % 4
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        oks = list(ex.map(pk_fetch, range(24)))
    res.check(all(oks), "24 parallel peaks requests: %d good" % sum(oks))

    # ---- CSRF, tokens, cookies ------------------------------------------------------------
    st, _, b = req("POST", "/api/logout", cookie=sessions["super1"])
    res.check(st == 403 and b.get("error") == "csrf", "logout without CSRF -> 403: %d" % st)
    st, _, b = req("POST", "/api/logout", cookie=sessions["super1"], headers={"X-CSRF-Token": "0" * 64})
    res.check(st == 403, "logout with a wrong CSRF token -> 403: %d" % st)
    st, _, b = req("GET", "/api/me", cookie=sessions["super1"])
    res.check(st == 200, "session still valid after refused logouts: %d" % st)
    st, h, b = req("POST", "/api/logout", cookie=sessions["super1"],
                   headers={"X-CSRF-Token": csrf["super1"]})
    res.check(st == 200 and "Max-Age=0" in h.get("set-cookie", ""), "logout with CSRF: %d" % st)
    st, _, _ = req("GET", "/api/me", cookie=sessions["super1"])
    res.check(st == 401, "session gone after logout: %d" % st)
    auth = {"Authorization": "Bearer " + token}
    st, _, b = req("GET", "/api/me", headers=auth)
    res.check(st == 200 and b["user"] == "super1" and b["auth"] == "token", "bearer me: %s" % st)
    st, _, b = req("GET", "/api/calls?limit=2", headers=auth)
    res.check(st == 200 and len(b["calls"]) == 2, "bearer search: %d" % st)
    st, _, _ = req("GET", "/api/calls/%d/audio" % foreign["id"], headers=auth, raw=True)
    res.check(st == 200, "bearer audio: %d" % st)
    for bad in ("Bearer est_1_" + "0" * 64, "Bearer x", "Basic YWRtaW4xOnB3", "Bearer " + "a" * 5000):
        st, _, _ = req("GET", "/api/me", headers={"Authorization": bad})
        res.check(st in (401, 431), "bad Authorization %r... -> 401: %d" % (bad[:20], st))
    for ck in ("0" * 64, "zz", "a" * 4000, admin[:-1] + ("0" if admin[-1] != "0" else "1"), "' OR 1=1 --"):
        st, _, _ = req("GET", "/api/me", cookie=ck)
        res.check(st in (401, 431), "bad cookie %r... -> 401: %d" % (ck[:16], st))

    # ---- input validation, injection, traversal ------------------------------------------------
    sqli = ["' OR 1=1 --", "-1;DROP TABLE calls", "1 UNION SELECT * FROM users", "%00", "\x01",
            "../../etc/passwd", "9" * 40, "-5", "1e9", "", "a" * 300]
    free_text = {"party", "call_id", "tag", "codec", "flag", "source"}
    bad_status = 0
    for param in ("party", "from", "to", "outcome", "min_duration", "max_duration", "call_id",
                  "codec", "flag", "source", "tag", "sort", "limit", "cursor"):
        for v in sqli:
            st, _, b = req("GET", "/api/calls?" + urllib.parse.urlencode({param: v}), cookie=admin)
            ok = st in (400, 404) or (st == 200 and param in free_text and b["calls"] == [])
            if st == 400:
                ok = ok and b.get("parameter") == param
            if not res.check(ok, "calls %s=%r -> %d %s" % (param, v, st, b if st != 200 else "")):
                bad_status += 1
    for param in ("user", "action", "since", "limit"):
        for v in sqli:
            st, _, b = req("GET", "/api/audit?" + urllib.parse.urlencode({param: v}), cookie=admin)
            ok = st in (400, 404) or (st == 200 and param in ("user", "action") and b["entries"] == [])
            res.check(ok, "audit %s=%r -> %d" % (param, v, st))
    st, _, b = req("GET", "/api/calls?nosuch=1", cookie=admin)
    res.check(st == 400 and b.get("parameter") == "nosuch", "unknown parameter -> 400: %d" % st)
    st, _, b = req("GET", "/api/calls?limit=1&limit=2", cookie=admin)
    res.check(st == 400 and b.get("parameter") == "limit", "repeated parameter -> 400: %d" % st)
    st, _, b = req("GET", "/api/calls?limit=0", cookie=admin)
    res.check(st == 400, "limit=0 -> 400")
    st, _, b = req("GET", "/api/calls?limit=501", cookie=admin)
    res.check(st == 400, "limit=501 -> 400")
    for path in ("/api/calls/../../etc/passwd", "/api/calls/..%2F..%2Fetc%2Fpasswd",
                 "/api/calls/%2e%2e/%2e%2e/etc/passwd", "/api/calls/1/audio/../../../../etc/passwd",
                 "/api/calls/1%00", "/api/calls/-1", "/api/calls/0", "/api/calls/1;DROP%20TABLE%20calls",
                 "/api/calls/' OR 1=1 --".replace(" ", "%20"), "/api/calls/99999999999999999999",
                 "/api/calls/1/nosuch", "/api/../../etc/passwd", "/etc/passwd", "/api/calls//audio",
                 "/api/calls/1/audio?x=1", "/api/calls/1/verify?quick=2"):
        st, _, b = req("GET", path, cookie=admin, raw=True)
        res.check(st in (400, 404), "%s -> %d" % (path, st))
    st, _, _ = req("DELETE", "/api/calls/1", cookie=admin, headers={"X-CSRF-Token": admin_csrf})
    res.check(st == 405, "DELETE a call -> 405: %d" % st)

    # oversized bodies: declared, and chunked
    st, _, b = req("POST", "/api/login", body="x" * (70 * 1024), headers={"Content-Type": "application/json"})
    res.check(st == 413, "oversized body -> 413: %d" % st)
    c = connect()
    try:
        c.request("POST", "/api/login", body=iter([b"{" + b" " * 8192] * 10),
                  headers={"Content-Type": "application/json"}, encode_chunked=True)
        st = c.getresponse().status
    except OSError:
        st = -1
    c.close()
    res.check(st == 413, "oversized chunked body -> 413: %d" % st)
    st, _, _ = req("GET", "/api/calls?party=" + "a" * 40000, cookie=admin)
    res.check(st in (400, 414, 431), "oversized URL refused: %d" % st)
    st, _, b = req("GET", "/api/me", cookie=admin)
    res.check(st == 200, "server still answers after the attacks: %d" % st)

    # ---- brute force: from 127.0.0.2 -------------------------------------------------------------
    statuses = [login("victim", "bad-guess-%d" % i, source="127.0.0.2")[0] for i in range(7)]
    res.check(statuses[:5] == [401] * 5 and statuses[5:] == [429, 429],
              "brute force: 401 x5 then 429: %s" % statuses)
    st, h, _, _ = login("victim", PW, source="127.0.0.2")
    res.check(st == 429 and int(h.get("retry-after", "0")) > 0, "locked even with the right password: %d %s"
              % (st, h.get("retry-after")))
    st, _, _, _ = login("admin1")
    res.check(st == 200, "another address and user still log in: %d" % st)

    # ---- latency of searches ------------------------------------------------------------------
    lat = []
    c = connect()
    for i in range(200):
        t = time.perf_counter()
        c.request("GET", "/api/calls?limit=50&party=%%2B49", headers={"Cookie": "earshot_session=" + admin})
        r = c.getresponse()
        r.read()
        lat.append((time.perf_counter() - t) * 1000)
    c.close()
    lat.sort()
    print("200 searches: p50 %.2f ms, p95 %.2f ms (%d calls in the index)"
          % (lat[99], lat[189], len(calls)))

    # ---- the audit log --------------------------------------------------------------------------
    st, _, b = req("GET", "/api/audit?limit=1000", cookie=admin)
    entries = b["entries"] if st == 200 else []
    def has(**kw):
        return any(all(e.get(k) == v for k, v in kw.items()) for e in entries)
    res.check(has(user="admin1", action="login", outcome="ok"), "audit: login ok")
    res.check(has(action="login", outcome="failed"), "audit: login failed")
    res.check(has(user="victim", action="login", outcome="denied", remote="127.0.0.2"), "audit: rate limited")
    res.check(has(user="admin1", action="call.listen", object=str(own_a["id"]), outcome="ok"), "audit: listen")
    res.check(has(user="agent1", action="call.view", object=str(foreign["id"]), outcome="denied"),
              "audit: agent denied a foreign call")
    res.check(has(user="audit1", action="call.listen", outcome="denied"), "audit: auditor denied listen")
    res.check(has(action="call.search", outcome="ok"), "audit: search")
    res.check(has(user="super1", action="logout", outcome="ok"), "audit: logout")
    res.check(has(action="auth", outcome="failed"), "audit: bad cookie/token")
    res.check(has(action="csrf", outcome="denied"), "audit: CSRF refusal")
    for act in ("call.tag", "call.untag", "call.note", "call.export"):
        res.check(has(user="admin1", action=act, outcome="ok"), "audit: %s ok" % act)
    res.check(has(user="audit1", action="call.tag", outcome="denied"), "audit: auditor denied tagging")
    res.check(has(user="agent1", action="call.export", outcome="denied"), "audit: agent denied export")
    res.check(has(user="agent1", action="call.note", object=str(foreign["id"]), outcome="denied"),
              "audit: agent denied a note on a foreign call")
    res.check(has(user="admin1", action="call.tag", outcome="failed"), "audit: bad/duplicate tag")
    res.check(has(user="admin1", action="call.peaks", object=str(own_a["id"]), outcome="ok"),
              "audit: peaks ok")
    res.check(has(user="audit1", action="call.peaks", outcome="denied"), "audit: auditor denied peaks")
    res.check(has(user="agent1", action="call.peaks", object=str(foreign["id"]), outcome="denied"),
              "audit: agent denied peaks of a foreign call")
    if norec:
        res.check(has(user="admin1", action="call.peaks", object=str(norec[0]["id"]), outcome="failed"),
                  "audit: peaks of a call without recording")
    res.check(all(e["remote"] in ("127.0.0.1", "127.0.0.2", "") for e in entries), "audit remotes")
    st, _, b = req("GET", "/api/audit?action=call.&limit=5", cookie=admin)
    res.check(st == 200 and 0 < len(b["entries"]) <= 5 and
              all(e["action"].startswith("call.") for e in b["entries"]), "audit filter by prefix")
    st, _, b = req("GET", "/api/audit/verify", cookie=sessions["audit1"])
    res.check(st == 200 and b.get("ok") is True, "audit chain verifies over the API: %s" % b)

    # ---- a tampered recording --------------------------------------------------------------------
    trec = foreign["recording"]
    tfile = os.path.join(data, trec["path"])
    if trec.get("encrypted") and os.path.getsize(tfile) > 200:
        with open(tfile, "r+b") as f:
            f.seek(100)
            x = f.read(1)
            f.seek(100)
            f.write(bytes([x[0] ^ 1]))
        try:
            st, _, body = req("GET", "/api/calls/%d/audio" % foreign["id"], cookie=admin, raw=True)
            short = st != 200 or len(body) < foreign["recording"]["bytes"] - 200
        except (OSError, http.client.HTTPException):
            st, short = -1, True
        res.check(st != 200 or short, "tampered audio not served whole: %d" % st)
        st, _, b = req("GET", "/api/calls/%d/verify" % foreign["id"], cookie=admin)
        res.check(st == 200 and b["ok"] is False and b["findings"], "verify finds tampering: %s" % b)
        st, _, b = req("GET", "/api/calls/%d/peaks?points=777" % foreign["id"], cookie=admin)
        res.check(st == 409 and b.get("error") == "integrity" and trec["path"] in b.get("message", ""),
                  "peaks of a tampered recording -> 409 naming it: %d %s" % (st, b))
        st, _, b = req("GET", "/api/audit?action=call.listen&limit=1000", cookie=admin)
        res.check(any(e["outcome"] == "failed" and e["object"] == str(foreign["id"]) for e in b["entries"]),
                  "tampered listen audited as failed")
    else:
        res.skip("tamper test: recording not encrypted")
    # ---- a playback: one call.listen per (user, remote, recording); the key cache and shredding --
    def listen_entries(user, cid, outcome=None):
        st_, _, b_ = req("GET", "/api/audit?action=call.listen&user=%s&limit=1000" % user, cookie=admin)
        return [e for e in (b_["entries"] if st_ == 200 else [])
                if e["object"] == str(cid) and (outcome is None or e["outcome"] == outcome)]
    spare = [c for c in recorded if c["id"] not in (own_a["id"], own_b["id"], foreign["id"])]
    play_c, shred_c = spare[0], spare[-1]
    pout = os.path.join(work, "play." + play_c["recording"]["format"])
    earshot(data, "export", str(play_c["id"]), "-o", pout)
    pplain = open(pout, "rb").read()
    ppath = "/api/calls/%d/audio" % play_c["id"]
    sup = {"Authorization": "Bearer " + token}  # super1 (its session is logged out above)
    # a player that never asks for byte 0: the middle to the end, then the start, in 2 KiB ranges
    order = list(range(len(pplain) // 2, len(pplain), 2048)) + list(range(0, len(pplain) // 2, 2048))
    got, bad = {}, 0
    for lo in order:
        hi = min(lo + 2047, len(pplain) // 2 - 1 if lo < len(pplain) // 2 else len(pplain) - 1)
        st, h, body = req("GET", ppath, headers={"Range": "bytes=%d-%d" % (lo, hi), **sup}, raw=True)
        bad += st != 206
        got[lo] = body
    res.check(bad == 0 and b"".join(got[k] for k in sorted(got)) == pplain,
              "a playback of %d Range requests, reassembled, equals the export" % len(order))
    e1 = listen_entries("super1", play_c["id"])
    res.check(len(e1) == 1 and e1[0]["outcome"] == "ok",
              "one call.listen entry for a playback of %d Range requests (not starting at 0): %s"
              % (len(order), [(e["outcome"], e["detail"]) for e in e1]))
    for lo in (0, 4096, 100):
        req("GET", ppath, headers={"Range": "bytes=%d-" % lo, **sup}, raw=True)
    req("GET", ppath, headers=sup, raw=True)
    res.check(len(listen_entries("super1", play_c["id"])) == 1,
              "more requests of the same user within the window: still one entry")
    for lo in (300, 0, 5000):
        st, _, body = req("GET", ppath, cookie=sessions["audit2"],
                          headers={"Range": "bytes=%d-" % lo}, raw=True)
        res.check(st == 206 and body == pplain[lo:], "audit2 (can listen) range %d: %d" % (lo, st))
    e2 = listen_entries("audit2", play_c["id"], "ok")
    res.check(len(e2) == 1, "a second user's playback: its own one entry (%d)" % len(e2))
    res.check(len(listen_entries("super1", play_c["id"], "ok")) == 1, "the first user's still one")
    # the same user from another address is another entry
    req("GET", ppath, headers={"Range": "bytes=0-9", **sup}, raw=True, source="127.0.0.2")
    e3 = listen_entries("super1", play_c["id"], "ok")
    res.check(len(e3) == 2 and {e["remote"] for e in e3} == {"127.0.0.1", "127.0.0.2"},
              "the same user from another address: another entry (%s)" % [e["remote"] for e in e3])
    # denials are audited every time
    n0 = len(listen_entries("agent1", foreign["id"], "denied"))
    for lo in (0, 100, 100, 2000):
        st, _, _ = req("GET", "/api/calls/%d/audio" % foreign["id"], cookie=sessions["agent1"],
                       headers={"Range": "bytes=%d-" % lo}, raw=True)
        res.check(st == 404, "agent1 foreign audio range %d -> 404 (as absent): %d" % (lo, st))
    n1 = len(listen_entries("agent1", foreign["id"], "denied"))
    res.check(n1 - n0 == 4, "every denied range request audited: %d of 4" % (n1 - n0))
    n0 = len(listen_entries("audit1", play_c["id"], "denied"))
    for _ in range(3):
        req("GET", ppath, cookie=sessions["audit1"], headers={"Range": "bytes=0-99"}, raw=True)
    res.check(len(listen_entries("audit1", play_c["id"], "denied")) - n0 == 3,
              "an auditor without listen: each of 3 requests audited as denied")
    # a shredded key stops playback at the next request (not served from the key cache)
    spath = "/api/calls/%d/audio" % shred_c["id"]
    if shred_c["recording"].get("encrypted"):
        ok = all(req("GET", spath, cookie=admin, headers={"Range": "bytes=%d-%d" % (lo, lo + 999)},
                     raw=True)[0] == 206 for lo in (0, 1000, 2000))
        res.check(ok, "the recording to shred plays (its key now cached)")
        p = earshot(data, "keys", "shred", str(shred_c["id"]), "--yes", check=False)
        res.check(p.returncode == 0, "keys shred: %d %s" % (p.returncode, p.stderr))
        for lo in (3000, 0):
            st, _, b = req("GET", spath, cookie=admin, headers={"Range": "bytes=%d-" % lo})
            res.check(st == 410 and isinstance(b, dict) and b.get("error") == "gone",
                      "range %d right after keys shred -> 410 gone: %d %.200s" % (lo, st, b))
        fails = listen_entries("admin1", shred_c["id"], "failed")
        res.check(len(fails) == 2, "both requests after the shred audited as failed: %d" % len(fails))
    else:
        res.skip("shred test: recording not encrypted")
    st, _, _ = req("GET", "/api/me", cookie=admin)
    res.check(st == 200, "server up at the end: %d" % st)
finally:
    rc, err = http_stop(server)
    res.check(rc == 0, "serve exits 0 on SIGTERM: %s\n%s" % (rc, err[-3000:]))
    res.check("ERROR: AddressSanitizer" not in err and "runtime error" not in err,
              "no sanitizer report:\n%s" % err[-3000:])

p = earshot(data, "audit", "--verify", check=False)
res.check(p.returncode == 0, "earshot audit --verify: %d %s%s" % (p.returncode, p.stdout, p.stderr))


# ---- the waveform of a capture with pauses: plain and encrypted Opus, encrypted FLAC ------------
def peaks_server(dpath, fn):
    """Serve dpath on a second free port and call fn(get) with get(path) -> (status, JSON)."""
    port = free_port(host=HOST)
    tok = json.loads(earshot(dpath, "user", "token", "pk", "--json").stdout)["token"]
    srv = subprocess.Popen([EARSHOT, "--data", dpath, "serve", "--listen", "%s:%d" % (HOST, port),
                            "--threads", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def get(path):
        st, _, body = http_req(HOST, port, "GET", path,
                               headers={"Authorization": "Bearer " + tok}, timeout=20)
        return st, body or None
    try:
        http_wait_up(HOST, port, srv, tries=100)
        fn(get)
    finally:
        rc_, err_ = http_stop(srv)
        res.check(rc_ == 0 and "AddressSanitizer" not in err_ and "runtime error" not in err_,
                  "peaks server on %s exits cleanly: %s %s" % (os.path.basename(dpath), rc_, err_[-2000:]))
    return err_


apcap = os.path.join(work, "pauses.pcap")
run([GEN, "-o", apcap, "--seed", "11", "--calls", "2", "--duration", "8", "--codec", "pcma"])
got = {}
for label, extra in (("plain", ["--no-encrypt"]), ("enc", []), ("flac", ["--format", "flac"])):
    dpath = os.path.join(work, "data-" + label)
    p, _ = import_capture(dpath, apcap, extra=extra)
    if p.returncode != 0:
        raise RuntimeError("import: %s" % p.stderr)
    run([EARSHOT, "--data", dpath, "user", "add", "pk", "--role", "admin", "--password-stdin"],
        input=PW + "\n")
    pcalls = [c for c in calls_json(dpath) if c["recording"]]
    res.check(len(pcalls) == 2 and all(c["recording"].get("encrypted") == (label != "plain")
                                       for c in pcalls), "%s: 2 recordings, encrypted as asked" % label)
    cid = pcalls[0]["id"]
    nrec = None
    if label == "flac":
        # calls that were not answered have no recording: a second capture with outcomes
        opcap = os.path.join(work, "outcomes.pcap")
        run([GEN, "-o", opcap, "--seed", "12", "--calls", "8", "--duration", "6", "--outcomes"])
        import_capture(dpath, opcap, extra=extra)
        nrec = [c for c in calls_json(dpath) if not c["recording"]]
        res.check(len(nrec) > 0, "the outcomes capture has calls without recording")
    wav = os.path.join(work, "pauses-%s.wav" % label)
    earshot(dpath, "export", str(cid), "-o", wav)

    def check(get, label=label, cid=cid, wav=wav, dpath=dpath, pcalls=pcalls, nrec=nrec):
        if nrec:
            st, b = get("/api/calls/%d/peaks?points=50" % nrec[0]["id"])
            res.check(st == 404 and b.get("error") == "no_recording",
                      "peaks of a call without recording -> 404: %d %s" % (st, b))
        ch, t, rate, ref = wav_peaks(wav, 400)
        st, b = get("/api/calls/%d/peaks?points=400" % cid)
        ok = st == 200 and b["channels"] == ch == 2 and b["points"] == 400
        d = peaks_diff(b["peaks"], ref) if ok else 999
        res.check(ok and d <= (0 if label == "flac" else 1),
                  "%s: peaks equal the reduction of the exported WAV (%d; largest difference %d)"
                  % (label, st, d))
        got[label] = b["peaks"] if ok else None
        # the pauses: points the export says are silent are near zero in the answer, and
        # each channel has some (the synthetic sources pause 0.1 s and 0.5 s)
        for c in range(2):
            quiet = [i for i in range(400) if ref[c][i] == 0]
            loud = [i for i in range(400) if ref[c][i] > 30]
            res.check(len(quiet) >= 4 and ok and all(b["peaks"][c][i] <= 1 for i in quiet) and
                      len(loud) > 100 and all(b["peaks"][c][i] > 20 for i in loud),
                      "%s channel %d: %d silent points near zero, %d loud ones loud"
                      % (label, c, len(quiet), len(loud)))
        if label == "plain":
            # a recording that decodes badly while its stored SHA-256 matches -> 422, not 500
            other = pcalls[1]
            f = os.path.join(dpath, other["recording"]["path"])
            blob = bytearray(open(f, "rb").read())
            for i in range(200, len(blob) - 200, 97):
                blob[i] ^= 0x5a
            blob = bytes(blob[:len(blob) // 2])
            with open(f, "wb") as fh:
                fh.write(blob)
            import hashlib
            db = index_db(dpath)
            db.execute("UPDATE recordings SET sha256 = ? WHERE path = ?",
                       (hashlib.sha256(blob).hexdigest(), other["recording"]["path"]))
            db.commit()
            db.close()
            st, b = get("/api/calls/%d/peaks" % other["id"])
            res.check(st == 422 and b.get("error") == "bad_recording" and
                      other["recording"]["path"] in b.get("message", ""),
                      "a recording that does not decode -> 422 naming it: %d %s" % (st, b))
            os.unlink(f)
            st, b = get("/api/calls/%d/peaks?points=99" % other["id"])
            res.check(st == 410, "a missing recording file -> 410: %d %s" % (st, b))
            st, b = get("/api/me")
            res.check(st == 200, "server up after the bad recordings: %d" % st)
    peaks_server(dpath, check)
if got.get("plain") and got.get("enc"):
    res.check(got["plain"] == got["enc"], "plain and encrypted Opus recordings give identical peaks")
else:
    res.check(False, "plain and encrypted peaks both computed")
res.finish()
