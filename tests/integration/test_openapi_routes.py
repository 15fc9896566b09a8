"""docs/openapi.yaml lists every endpoint and query parameter the server has
(issue #18): read from the C, compared with the YAML, no server needed.

- every path literal the server compares URLs with ("/api/...", "/metrics",
  "/healthz", "/readyz") in src/api/*.c is an OpenAPI path, or, ending in
  '/', the prefix of one;
- every sub-resource a route function tells apart (sl_cstr("audio") in
  srv_route's /api/calls/ branch, strcmp(sub, "tokens") in the users'
  routes...) is an OpenAPI path under its prefix;
- every allowed-parameter list (`params[] = {...}`, passed to srv_begin or
  srv_access_call_ex) equals the query parameters of its operation in the
  YAML, both ways; a handler with a list this test does not know fails it,
  so a new one gets documented.
"""
import os
import re
import sys

from estest import Results, skip

try:
    import yaml
except ImportError:  # python3-yaml is in scripts/bootstrap
    skip("python3-yaml is not installed")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
API = os.path.join(ROOT, "src", "api")

# the handler that owns an allowed-parameter list -> its operation
HANDLERS = {
    "srv_calls": ("/api/calls", "get"),  # srv_calls_params[]: also /api/calls.csv and saved searches
    "srv_call_verify": ("/api/calls/{id}/verify", "get"),
    "srv_call_audio": ("/api/calls/{id}/audio", "get"),
    "srv_call_peaks": ("/api/calls/{id}/peaks", "get"),
    "srv_call_transcript": ("/api/calls/{id}/transcript", "get"),
    "srv_call_export": ("/api/calls/{id}/export", "get"),
    "srv_audit_list": ("/api/audit", "get"),
    "srv_stats": ("/api/stats", "get"),
    "srv_alerts": ("/api/alerts", "get"),
    "member_remove": ("/api/teams/{name}/members/{user}", "delete"),
    "srv_qa_report": ("/api/reports/qa", "get"),
}
# route function -> the OpenAPI prefix of the segments it compares
ROUTERS = {
    "srv_route": "/api/calls/{id}/",
    "srv_user_route": "/api/users/{name}/",
    "srv_holds_route": "/api/holds/{name}/",
    "srv_subject_route": "/api/subject/",
}
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def functions(text):
    """{name: body} of the top-level functions of a C file"""
    out = {}
    for m in re.finditer(r"^[a-z][^\n;]*?\b([a-z_0-9]+)\(([^;{]*?)\)\s*\{", text, flags=re.M):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        out[m.group(1)] = text[m.end():i]
    return out


def deref(p):
    """a parameter, its $ref (#/components/parameters/X) followed"""
    while isinstance(p, dict) and "$ref" in p:
        node = spec
        for part in p["$ref"].lstrip("#/").split("/"):
            node = node[part]
        p = node
    return p


res = Results()
with open(os.path.join(ROOT, "docs", "openapi.yaml")) as f:
    spec = yaml.safe_load(f)
paths = spec["paths"]
sources = {}
for name in sorted(os.listdir(API)):
    if name.endswith(".c"):
        with open(os.path.join(API, name)) as f:
            sources[name] = strip_comments(f.read())
funcs = {}
for name, text in sources.items():
    for fn, body in functions(text).items():
        funcs[fn] = (name, body)

# 1. path literals
lits = set()
for text in sources.values():
    lits |= set(re.findall(r'"(/api(?:/[a-z_/]*)?|/metrics|/healthz|/readyz)"', text))
res.check(len(lits) >= 10, "path literals found in src/api/: %d" % len(lits))
for lit in sorted(lits):
    if lit in ("/api", "/api/"):
        continue  # the API's root: only the 404 for anything unknown
    ok = lit in paths or (lit.endswith("/") and any(p.startswith(lit) for p in paths))
    res.check(ok, "%s is in docs/openapi.yaml" % lit)

# 2. sub-resources the routers tell apart
for fn, prefix in ROUTERS.items():
    if not res.check(fn in funcs, "route function %s found" % fn):
        continue
    body = funcs[fn][1]
    if fn == "srv_route":  # only its /api/calls/ branch
        body = body[body.find('"/api/calls/"'):]
    segs = set(re.findall(r'sl_cstr\("([a-z_]+)"\)', body))
    segs |= {s for s in re.findall(r'strcmp\(\s*[a-z_>.-]+\s*,\s*"/?([a-z_]+)"\)', body)
             if s.upper() not in METHODS and s != "api"}
    res.check(segs, "%s compares sub-resources: %s" % (fn, sorted(segs)))
    for s in sorted(segs):
        res.check(any(p == prefix + s or p.startswith(prefix + s + "/") for p in paths),
                  "%s%s is in docs/openapi.yaml" % (prefix, s))

# 3. allowed query parameters, both ways: a handler's own list, or one
# named after it at file level (srv_calls_params[], shared with the saved
# searches' check)
lists = {}
for fn, (fname, body) in funcs.items():
    m = re.search(r'static const char \*const params\[\] = \{([^}]*)\}', body)
    if m:
        lists[fn] = (fname, m.group(1))
for fname, text in sources.items():
    for m in re.finditer(r'^const char \*const (srv_[a-z_]+)_params\[\] = \{([^}]*)\}', text, flags=re.M):
        lists[m.group(1)] = (fname, m.group(2))
seen = set()
for fn, (fname, plist) in sorted(lists.items()):
    code = set(re.findall(r'"([a-z_]+)"', plist))
    if not res.check(fn in HANDLERS, "%s (%s) allows %s: its operation is known to this test"
                     % (fn, fname, sorted(code))):
        continue
    seen.add(fn)
    path, method = HANDLERS[fn]
    op = paths.get(path, {}).get(method)
    if not res.check(op is not None, "%s %s is in docs/openapi.yaml" % (method.upper(), path)):
        continue
    doc = {p["name"] for p in map(deref, op.get("parameters", []) + paths[path].get("parameters", []))
           if p.get("in") == "query"}
    res.check(code <= doc, "%s %s documents %s: missing %s"
              % (method.upper(), path, sorted(code), sorted(code - doc)))
    res.check(doc <= code, "%s %s documents only accepted parameters: extra %s"
              % (method.upper(), path, sorted(doc - code)))
res.check(seen == set(HANDLERS), "every known handler still has its list: %s" % sorted(set(HANDLERS) - seen))
sys.exit(res.finish())
