"""Evidence bundles: `earshot export ID --evidence -o DIR|FILE.zip` from a
generated capture, then earshot-verify-evidence on a copy once the data
folder is gone: it passes untouched, and every alteration fails with a
reason naming the file (audio, metadata.json, leaf.txt, proof.txt,
head.txt's root and signature, another ledger.pub, a bundle signed with
another recorder's key under --key, a damaged or re-packed ZIP, a ZIP
entry that is not a plain name).  Also: an unencrypted recording, an
altered stored recording (export refuses), and the usage/exit codes."""
import hashlib
import json
import os
import shutil
import zipfile

from estest import BUILD, Results, calls_json, earshot, import_capture, run, skip, tmpdir

GEN = os.path.join(BUILD, "gen_calls")
VERIFY = os.path.join(BUILD, "earshot-verify-evidence")
for tool in (GEN, VERIFY):
    if not os.path.exists(tool):
        skip("%s not built" % tool)

res = Results()
work = tmpdir("earshot-evidence-")


def make_data(name, *extra):
    pcap = os.path.join(work, name + ".pcap")
    run([GEN, "-o", pcap, "--seed", "11", "--calls", "3", "--duration", "5"])
    data = os.path.join(work, name)
    p, _ = import_capture(data, pcap, extra=extra)
    if p.returncode != 0:
        raise RuntimeError("import: %s" % p.stderr)
    rec = [c for c in calls_json(data) if c["recording"]]
    if not rec:
        raise RuntimeError("no call with a recording in %s" % name)
    return data, rec[0]["id"]


def verify(bundle, *args):
    p = run([VERIFY] + list(args) + [bundle], check=False)
    return p.returncode, p.stdout + p.stderr


def verify_json(bundle, *args):
    p = run([VERIFY, "--json"] + list(args) + [bundle], check=False)
    return p.returncode, json.loads(p.stdout)


def failed_checks(out):
    return {line.split()[1] for line in out.splitlines() if line.strip().startswith("FAIL")}


def flip(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x01]))


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def tampered(name, src, change, want_checks, want_text):
    """Copy the bundle, apply change(dir), verify: must fail on one of
    want_checks with want_text in the output."""
    d = os.path.join(work, "t-" + name)
    shutil.copytree(src, d)
    change(d)
    rc, out = verify(d)
    failed = failed_checks(out)
    res.check(rc == 1, "%s: verifier exited %d, expected 1:\n%s" % (name, rc, out))
    res.check(failed & set(want_checks), "%s: expected a failure of %s, got %s:\n%s"
              % (name, want_checks, sorted(failed), out))
    res.check(want_text in out, "%s: the reason does not name %r:\n%s" % (name, want_text, out))


# ---- an encrypted archive, exported, then deleted --------------------------------
data1, call1 = make_data("data1")
out = os.path.join(work, "out")
os.makedirs(out)
bdir, bzip = os.path.join(out, "bundle"), os.path.join(out, "bundle.zip")
p = earshot(data1, "export", str(call1), "--evidence", "-o", bdir, check=False)
res.check(p.returncode == 0, "export --evidence to a folder exited %d: %s" % (p.returncode, p.stderr))
p = earshot(data1, "export", str(call1), "--evidence", "-o", bzip, check=False)
res.check(p.returncode == 0, "export --evidence to a zip exited %d: %s" % (p.returncode, p.stderr))
names = sorted(os.listdir(bdir))
res.check(names == ["README.txt", "audio.opus", "consistency.txt", "head.txt", "leaf.txt",
                    "ledger.pub", "metadata.json", "proof.txt"], "bundle files: %s" % names)
res.check(sorted(zipfile.ZipFile(bzip).namelist()) == names, "zip entries differ from the folder")
res.check(zipfile.ZipFile(bzip).testzip() is None, "Python's zipfile finds a bad CRC")
leaf = open(os.path.join(bdir, "leaf.txt")).read()
fields = leaf.rstrip("\n").split("\t")
res.check(fields[1] == "rec" and fields[7].startswith("plain=") and fields[7] != "plain=-",
          "leaf of an encrypted recording: %r" % leaf)
res.check(fields[7] == "plain=" + sha256(os.path.join(bdir, "audio.opus")),
          "audio.opus is not the leaf's plaintext")
res.check(fields[5] == "meta=" + sha256(os.path.join(bdir, "metadata.json")),
          "metadata.json is not the leaf's meta")
trusted = os.path.join(work, "trusted-ledger.pub")
shutil.copy(os.path.join(data1, "ledger", "ledger.pub"), trusted)
res.check(open(trusted, "rb").read() == open(os.path.join(bdir, "ledger.pub"), "rb").read(),
          "the bundle's ledger.pub is not DATA/ledger/ledger.pub")
# exported plain audio equals the bundle's
plain = os.path.join(work, "plain.opus")
p = earshot(data1, "export", str(call1), "-o", plain, check=False)
res.check(p.returncode == 0 and sha256(plain) == sha256(os.path.join(bdir, "audio.opus")),
          "export of the encrypted recording: %d %s" % (p.returncode, p.stderr))

# usage and refusals
p = earshot(data1, "export", str(call1), "--evidence", "-o", bdir, check=False)
res.check(p.returncode == 1 and "not an empty folder" in p.stderr,
          "export into a non-empty folder: %d %s" % (p.returncode, p.stderr))
p = earshot(data1, "export", str(call1), "--evidence", "-o", bzip, check=False)
res.check(p.returncode == 1 and "exists" in p.stderr, "export over a zip: %d %s" % (p.returncode, p.stderr))
p = earshot(data1, "export", "999999", "--evidence", "-o", os.path.join(out, "x"), check=False)
res.check(p.returncode == 4, "export --evidence of no call exited %d" % p.returncode)
p = earshot(data1, "export", str(call1), "--evidence", "--mix", "-o", os.path.join(out, "y"),
            check=False)
res.check(p.returncode == 2, "--evidence --mix exited %d" % p.returncode)
res.check(run([VERIFY], check=False).returncode == 2, "verifier without a bundle: not 2")
res.check(run([VERIFY, "--help"], check=False).returncode == 0, "verifier --help: not 0")

# a second recorder, for another key
data2, call2 = make_data("data2")
other = os.path.join(work, "other-bundle")
earshot(data2, "export", str(call2), "--evidence", "-o", other)

# an altered stored recording: export refuses
alt, altcall = make_data("data-altered")
rel = [c for c in calls_json(alt) if c["id"] == altcall][0]["recording"]
stored = os.path.join(alt, rel["path"] if isinstance(rel, dict) else rel)
if os.path.exists(stored):
    flip(stored, os.path.getsize(stored) // 2)
    p = earshot(alt, "export", str(altcall), "--evidence", "-o", os.path.join(work, "alt"), check=False)
    res.check(p.returncode == 1 and "altered" in p.stderr,
              "export of an altered recording: %d %s" % (p.returncode, p.stderr))
    res.check(not os.path.exists(os.path.join(work, "alt")), "a failed export left its folder")
else:
    res.skip("stored file of the altered case not found (calls --json recording: %r)" % rel)

# copy elsewhere, delete the data folder
far = tmpdir("earshot-evidence-copy-")
fdir, fzip = os.path.join(far, "bundle"), os.path.join(far, "bundle.zip")
shutil.copytree(bdir, fdir)
shutil.copy(bzip, fzip)
shutil.rmtree(data1)

for b in (fdir, fzip):
    rc, outp = verify(b)
    res.check(rc == 0, "untouched bundle %s failed (%d):\n%s" % (b, rc, outp))
    res.check("came from the bundle itself" in outp and sha256(trusted) in outp,
              "no note about the key's origin with its fingerprint:\n%s" % outp)
    rc, outp = verify(b, "--key", trusted)
    res.check(rc == 0 and failed_checks(outp) == set(), "with --key: %d\n%s" % (rc, outp))
    rc, j = verify_json(b)
    res.check(rc == 0 and j["ok"] and j["encrypted_at_rest"] is True and
              j["key"]["fingerprint"] == sha256(trusted) and
              all(c["result"] in ("ok", "note") for c in j["checks"]), "json: %r" % j)


def edit_line(name, fn):
    def change(d):
        path = os.path.join(d, name)
        lines = open(path).read().split("\n")
        fn(lines)
        open(path, "w").write("\n".join(lines))
    return change


def flip_hex(s, i):
    c = s[i]
    return s[:i] + ("0" if c != "0" else "1") + s[i + 1:]


def field_edit(index):
    def fn(lines):
        f = lines[0].split("\t")
        f[index] = flip_hex(f[index], len(f[index]) - 1)
        lines[0] = "\t".join(f)
    return fn


tampered("audio", fdir, lambda d: flip(os.path.join(d, "audio.opus"), 200), ["audio"], "audio.opus")
tampered("metadata", fdir, lambda d: flip(os.path.join(d, "metadata.json"), 30), ["metadata"],
         "metadata.json")
tampered("leaf", fdir, edit_line("leaf.txt", field_edit(5)), ["metadata", "inclusion"], "leaf.txt")
tampered("leaf-plain", fdir, edit_line("leaf.txt", field_edit(7)), ["audio", "inclusion"], "leaf.txt")


def proof_edit(lines):
    lines[3] = flip_hex(lines[3], 10)


tampered("proof", fdir, edit_line("proof.txt", proof_edit), ["inclusion"], "proof.txt")
tampered("head-root", fdir, edit_line("head.txt", field_edit(3)), ["signature"], "head.txt")
tampered("head-sig", fdir, edit_line("head.txt", field_edit(5)), ["signature"], "head.txt")
tampered("other-pub", fdir, lambda d: shutil.copy(os.path.join(other, "ledger.pub"),
                                                  os.path.join(d, "ledger.pub")),
         ["signature"], "ledger.pub")


def combine(d):
    for name in ("head.txt", "ledger.pub", "proof.txt"):
        shutil.copy(os.path.join(other, name), os.path.join(d, name))


tampered("other-head-and-key", fdir, combine, ["inclusion", "proof"], "proof.txt")
tampered("missing-file", fdir, lambda d: os.unlink(os.path.join(d, "proof.txt")), ["files"],
         "proof.txt")

# a whole bundle signed by another recorder's key: consistent in itself,
# caught only by --key with the trusted key
rc, outp = verify(other)
res.check(rc == 0, "the other recorder's own bundle should verify alone:\n%s" % outp)
rc, outp = verify(other, "--key", trusted)
res.check(rc == 1 and failed_checks(outp) == {"key"} and "not the trusted key" in outp,
          "--key did not catch another signing key (%d):\n%s" % (rc, outp))
rc, outp = verify(fdir, "--key", os.path.join(other, "ledger.pub"))
res.check(rc == 1 and "key" in failed_checks(outp), "--key with a wrong trusted key passed")

# the zip: one byte of the audio entry flipped (CRC), then re-packed with a
# valid CRC (the hash still fails), then a name with a path
z = zipfile.ZipFile(fzip)
info = z.getinfo("audio.opus")
z.close()
zbad = os.path.join(far, "crc.zip")
shutil.copy(fzip, zbad)
flip(zbad, info.header_offset + 30 + len("audio.opus") + 100)
rc, outp = verify(zbad)
res.check(rc == 1 and "CRC" in outp and "audio.opus" in outp, "flipped zip byte: %d\n%s" % (rc, outp))


def repack(dst, mutate):
    with zipfile.ZipFile(fzip) as src, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as o:
        for n in src.namelist():
            data = src.read(n)
            n, data = mutate(n, data)
            o.writestr(n, data)


zre = os.path.join(far, "repacked.zip")
repack(zre, lambda n, d: (n, bytes([d[0] ^ 1]) + d[1:] if n == "audio.opus" else d))
rc, outp = verify(zre)
res.check(rc == 1 and failed_checks(outp) == {"audio"}, "re-packed altered audio: %d\n%s" % (rc, outp))
zok = os.path.join(far, "repacked-ok.zip")
repack(zok, lambda n, d: (n, d))
rc, outp = verify(zok)
res.check(rc == 0, "a bundle re-packed by Python's zipfile should verify:\n%s" % outp)
zpath = os.path.join(far, "path.zip")
repack(zpath, lambda n, d: ("../" + n if n == "leaf.txt" else n, d))
rc, outp = verify(zpath)
res.check(rc == 1 and "not a plain file name" in outp, "a ../ name: %d\n%s" % (rc, outp))
zdefl = os.path.join(far, "deflated.zip")
with zipfile.ZipFile(fzip) as src, zipfile.ZipFile(zdefl, "w", zipfile.ZIP_DEFLATED) as o:
    for n in src.namelist():
        o.writestr(n, src.read(n))
rc, outp = verify(zdefl)
res.check(rc == 1 and "STORED" in outp, "a deflated zip: %d\n%s" % (rc, outp))

# ---- an unencrypted recording ------------------------------------------------------
data3, call3 = make_data("data3", "--no-encrypt")
pb = os.path.join(work, "plain-bundle.zip")
p = earshot(data3, "export", str(call3), "--evidence", "-o", pb, check=False)
if res.check(p.returncode == 0, "evidence of an unencrypted recording: %d %s" % (p.returncode, p.stderr)):
    leaf = zipfile.ZipFile(pb).read("leaf.txt").decode()
    res.check(leaf.rstrip("\n").split("\t")[7] == "plain=-", "unencrypted leaf: %r" % leaf)
    shutil.rmtree(data3)
    rc, j = verify_json(pb)
    res.check(rc == 0 and j["ok"] and j["encrypted_at_rest"] is False, "unencrypted bundle: %r" % j)

if not res.failed:
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(far, ignore_errors=True)
res.finish()
