"""Transcript search (issues #19, #16): the same calls transcribed through
the whisper protocol stand-in (asrstandin.py: "refund alpha" for the
caller, "refund bravo" for the callee) into a SQLite index and into a
throwaway PostgreSQL one; GET /api/calls?text= gives the same calls, hits,
snippets and times on both for words, phrases, prefixes, one party's words
and an agent's scope.  The search index is blind (index/trblind.c): an
attacker with the index alone (`sqlite3 index.sqlite .dump`, `pg_dump`)
finds none of the words said, nor the keyword phrases hit (sealed in the
call's findings, opened for the call's page) nor what was searched for
(text= and keyword= sealed in the audit log, shown by `earshot audit
--reveal` only, the chain intact)."""
import json
import os
import subprocess
import urllib.parse

from asrstandin import StandIn
from estest import (EARSHOT, PgCluster, Results, calls_json, earshot, free_port, http_req,
                    http_stop, http_wait_up, import_capture, run, tmpdir)
from talkgen import A, B, gen_call

WORDS = ("refund", "alpha", "bravo")
QUERIES = ["refund", '"refund alpha"', '"refund bravo"', "ref*", '"refund al*"', "alpha bravo",
           "br*", "nothing", "REFUND", "re*", '"alpha alpha"', '"bravo refund"', '"refund al"*']
PARTY = [("refund", "caller"), ("bravo", "caller"), ("bravo", "callee"), ('"refund al*"', "callee")]

res = Results()
work = tmpdir("earshot-pg-tr-search-")
pa = gen_call(work, "a", A[0], A[1], 20, 11)
pb = gen_call(work, "b", B[0], B[1], 20, 12)
si = StandIn("whisper")
conf = os.path.join(work, "earshot.conf")
with open(conf, "w") as f:
    f.write("[transcription]\nengine = whisper\nurl = http://127.0.0.1:%d\n" % si.start())
    # a phrase hit in every call: the findings name it (issue #19)
    f.write("[keywords billing]\ncategory = money\nphrases = refund\n")


def clean(dump, what):
    said = [w for w in WORDS if w in dump.lower()]
    res.check(not said, "%s: no word of the transcripts (found %r)" % (what, said))


def answers(data, dump):
    """Import, transcribe, dump the index, serve, search, dump it again
    (the audit log keeps what was searched, sealed): every query's answer
    with calls named by their Call-ID (row ids may differ between engines)."""
    p, summary = import_capture(data, pa, pb, extra=("--format", "wav"))
    if not res.check(p.returncode == 0 and summary and summary["recordings"] == 2,
                     "import: %d %s" % (p.returncode, p.stderr)):
        return None
    earshot(data, "transcribe", "--query", "source=import")
    earshot(data, "transcribe", "run", "-c", conf, "--once")
    p = dump()
    res.check(p.returncode == 0 and "transcripts" in p.stdout, "%s: %s" % (p.args[0], p.stderr))
    clean(p.stdout, " ".join(p.args[:2]))
    calls = calls_json(data)
    cid = {c["id"]: c["call_id"] for c in calls}
    num = calls[0]["caller"].split(":")[1].split("@")[0]
    out = {"own": len([c for c in calls if num in c["caller"] + c["callee"]]), "num": num}
    for name, role, extra in (("sup1", "supervisor", []), ("agent1", "agent", ["--numbers", num])):
        run([EARSHOT, "--data", data, "user", "add", name, "--role", role] + extra +
            ["--password-stdin"], input="correct horse battery\n")
    tok = {n: json.loads(earshot(data, "user", "token", n, "--json").stdout)["token"]
           for n in ("sup1", "agent1")}
    host, port = "127.0.0.1", free_port()
    server = subprocess.Popen([EARSHOT, "--data", data, "serve", "--listen", "%s:%d" % (host, port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if not res.check(http_wait_up(host, port, server), "server up"):
            return None
        asks = [(who, q, None) for who in tok for q in QUERIES] + \
               [("sup1", q, p) for q, p in PARTY]
        asks += [("sup1", None, "keyword=refund"), ("sup1", None, "keyword=money")]
        for who, q, party in asks:
            if q is None:
                qs = party
            else:
                qs = "text=" + urllib.parse.quote(q) + ("&text_party=" + party if party else "")
            st, _, body = http_req(host, port, "GET", "/api/calls?" + qs,
                                   headers={"Authorization": "Bearer " + tok[who]})
            hits = {cid.get(int(k), k): v for k, v in body.get("hits", {}).items()} \
                if st == 200 else None
            out[(who, q, party)] = (st, sorted(cid[c["id"]] for c in body.get("calls", []))
                                    if st == 200 else body, hits)
        # a saved search for words: stored sealed, listed as saved
        saved = "text=%22refund%20alpha%22&text_party=caller&party=" + num
        auth = {"Authorization": "Bearer " + tok["sup1"]}
        st, _, body = http_req(host, port, "POST", "/api/searches",
                               body={"name": "billing", "query": saved}, headers=auth)
        st2, _, body2 = http_req(host, port, "GET", "/api/searches", headers=auth)
        out["saved"] = (st, st2, [s_["query"] for s_ in body2.get("searches", [])]
                        if st2 == 200 else body2)
        # the call's page: its findings opened, the phrase hit named
        st, _, body = http_req(host, port, "GET", "/api/calls/%d" % calls[0]["id"],
                               headers={"Authorization": "Bearer " + tok["sup1"]})
        kws = (body.get("speech") or {}).get("keywords", []) if st == 200 else []
        out["findings"] = sorted({(k["category"], k["phrase"], k["party"]) for k in kws})
    finally:
        http_stop(server)
    p = dump()
    clean(p.stdout, " ".join(p.args[:2]) + " after searches")
    audit = json.loads(earshot(data, "audit", "--action", "call.search", "--json").stdout)
    res.check(audit and all("text=" not in a["detail"] or "text=sealed:" in a["detail"]
                            for a in audit), "the audit keeps text= sealed: %r" % audit[:2])
    shown = json.loads(earshot(data, "audit", "--action", "call.search", "--reveal",
                               "--json").stdout)
    details = " ".join(a["detail"] for a in shown)
    res.check('text="refund al*"' in details and "keyword=refund" in details and
              "keyword=money" in details and "sealed:" not in details,
              "--reveal shows what was searched: %s" % details[:300])
    saves = " ".join(a["detail"] for a in json.loads(
        earshot(data, "audit", "--action", "search.save", "--reveal", "--json").stdout))
    res.check("text=%22refund%20alpha%22" in saves and "party=" + num in saves,
              "--reveal shows the saved search: %s" % saves[:300])
    res.check(earshot(data, "audit", "--action", "audit.reveal", "--json").stdout.count(
        "audit.reveal") == 2, "--reveal is audited")
    res.check(earshot(data, "audit", "--verify", check=False).returncode == 0,
              "audit chain intact")
    return out


sq_data = os.path.join(work, "sq")
sq = answers(sq_data, lambda: subprocess.run(
    ["sqlite3", os.path.join(sq_data, "index.sqlite"), ".dump"], capture_output=True, text=True))
if sq:
    got = sq[("sup1", "refund", None)]
    res.check(got[0] == 200 and len(got[1]) == 2 and
              all(h and "[refund]" in h[0]["snippet"] for h in got[2].values()),
              "SQLite: both calls with snippets %r" % (got,))
    res.check(sq[("sup1", "alpha bravo", None)][1] == [], "alpha and bravo: never one party")
    res.check(len(sq[("sup1", '"refund al*"', None)][1]) == 2, "phrase with a prefix")
    res.check(sq[("sup1", '"alpha alpha"', None)][1] == [] and
              sq[("sup1", '"bravo refund"', None)][1] != [], "phrases")
    res.check(sq[("sup1", "bravo", "caller")][1] == [] and
              len(sq[("sup1", "bravo", "callee")][1]) == 2, "per party")
    res.check(len(sq[("agent1", "refund", None)][1]) == sq["own"], "agent: own calls only")
    res.check(len(sq[("sup1", None, "keyword=refund")][1]) == 2 and
              len(sq[("sup1", None, "keyword=money")][1]) == 2, "keyword= phrase and category")
    res.check(sq["saved"] == (201, 200, ["text=%22refund%20alpha%22&text_party=caller&party=" +
                                         sq["num"]]), "saved search: %r" % (sq["saved"],))
    res.check(sq["findings"] == [("money", "refund", "callee"), ("money", "refund", "caller")],
              "the call's page names the phrase hit: %r" % (sq["findings"],))

with PgCluster() as pg:
    url = pg.fresh()
    os.environ["EARSHOT_INDEX"] = url
    try:
        pgd = answers(os.path.join(work, "pg"), lambda: subprocess.run(
            ["pg_dump", "-d", url], capture_output=True, text=True))
    finally:
        del os.environ["EARSHOT_INDEX"]
    if pgd and sq:
        diff = {k: (sq[k], pgd.get(k)) for k in sq if sq[k] != pgd.get(k)}
        res.check(not diff, "PostgreSQL answers as SQLite does: %r" % diff)
si.stop()
res.finish()
