"""Dependencies point one way (DESIGN.md, STYLE.md): every #include "x/..."
in src/LAYER/ must name a layer LAYER may use."""
import os
import re

from estest import SOURCE, Results

# layer -> layers it may include (besides itself)
ALLOWED = {
    "core": set(),
    "net": {"core"},
    "sip": {"core", "net"},
    "rtp": {"core", "net"},
    "codec": {"core"},
    "media": {"core", "codec"},
    "index": {"core"},
    "store": {"core"},
    "policy": {"core"},
    "analytics": {"core"},
    "record": {"core", "net", "sip", "rtp", "codec", "media", "index", "store", "policy", "analytics"},
    "siprec": {"core", "net", "sip", "rtp", "codec", "media", "record"},
    "api": {"core", "record", "index", "store", "policy", "analytics"},
    "verify": {"core", "store"},
    "cli": {"core", "net", "sip", "rtp", "codec", "media", "record", "siprec", "index", "store",
            "policy", "analytics", "api"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z]+)/[^"]+"', re.M)

res = Results()
src = os.path.join(SOURCE, "src")
for layer in sorted(os.listdir(src)):
    d = os.path.join(src, layer)
    if not os.path.isdir(d):
        continue
    res.check(layer in ALLOWED, "src/%s is not a known layer" % layer)
    for name in sorted(os.listdir(d)):
        if not name.endswith((".c", ".h")):
            continue
        text = open(os.path.join(d, name), encoding="utf-8", errors="replace").read()
        for target in INCLUDE.findall(text):
            if target == layer:
                continue
            res.check(target in ALLOWED.get(layer, set()),
                      "src/%s/%s includes %s/: %s may not depend on %s" % (layer, name, target, layer, target))
res.finish()
