"""A real S3-compatible server for tests: OpenStack Swift (Debian's
swift-proxy, swift-account, swift-container, swift-object) with the s3api
middleware and tempauth, memcached beside it, all on free loopback ports in
a temporary folder, stopped (and the folder removed) afterwards.  Swift's
s3api checks every request's SigV4 signature and payload hash: this is not a
fake that accepts anything.  docs/OPERATIONS.md describes the same set-up
for an operator.

    with S3Server() as s3:
        s3.make_bucket("rec")
        ... s3.endpoint, s3.access_key, s3.secret_key ...
        s3.stop_proxy(); ...; s3.start_proxy()     # an outage

Skips (exit 77) when the packages are absent."""
import atexit
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import estest  # noqa: E402

ACCESS_KEY = "test:tester"   # tempauth's account:user is the S3 access key
SECRET_KEY = "testing"
REGION = "us-east-1"

SERVERS = ("account", "container", "object")


def available():
    need = ["swift-proxy-server", "swift-account-server", "swift-container-server",
            "swift-object-server", "swift-ring-builder", "memcached", "curl"]
    missing = [t for t in need if not shutil.which(t)]
    return missing


class S3Server:
    def __init__(self):
        self.dir = None
        self.procs = {}
        self.ports = {}
        self.access_key = ACCESS_KEY
        self.secret_key = SECRET_KEY
        self.region = REGION

    # ---- set-up -------------------------------------------------------------------
    def __enter__(self):
        missing = available()
        if missing:
            estest.skip("no S3 server: missing %s (scripts/bootstrap installs them)" %
                        ", ".join(missing))
        self.dir = tempfile.mkdtemp(prefix="earshot-s3-")
        # a test that dies half-way (an exception outside `with`, ctest's
        # timeout sending SIGTERM) must not leave the servers running
        atexit.register(self.close)
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        try:
            self._configure()
            self._start_all()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def _write(self, name, text):
        with open(os.path.join(self.dir, "etc", name), "w") as f:
            f.write(text)

    def _configure(self):
        etc = os.path.join(self.dir, "etc")
        dev = os.path.join(self.dir, "srv", "d1")
        os.makedirs(etc)
        os.makedirs(dev)
        os.makedirs(os.path.join(self.dir, "run"))
        for k in ("proxy", "memcached") + SERVERS:
            self.ports[k] = estest.free_port()
        self._write("swift.conf",
                    "[swift-hash]\nswift_hash_path_suffix = earshot-test\n"
                    "swift_hash_path_prefix = earshot\n\n"
                    "[storage-policy:0]\nname = gold\ndefault = yes\n")
        common = ("[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = %d\nswift_dir = " + etc +
                  "\ndevices = " + os.path.join(self.dir, "srv") +
                  "\nmount_check = false\nworkers = 0\nlog_level = WARNING\n"
                  "log_address = /nonexistent\n")
        for s in SERVERS:
            self._write("%s-server.conf" % s,
                        common % self.ports[s] +
                        "\n[pipeline:main]\npipeline = %s-server\n\n[app:%s-server]\n"
                        "use = egg:swift#%s\n" % (s, s, s) +
                        ("\n[%s-replicator]\n[%s-updater]\n[%s-auditor]\n" % (s, s, s)))
        self._write("proxy-server.conf",
                    common % self.ports["proxy"] +
                    "\n[pipeline:main]\n"
                    "pipeline = catch_errors gatekeeper healthcheck proxy-logging cache "
                    "listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server\n"
                    "\n[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n"
                    "allow_account_management = true\n"
                    "\n[filter:s3api]\nuse = egg:swift#s3api\nlocation = %s\n"
                    "min_segment_size = 5242880\n" % REGION +
                    "\n[filter:tempauth]\nuse = egg:swift#tempauth\n"
                    "user_test_tester = %s .admin\n" % SECRET_KEY +
                    "\n[filter:cache]\nuse = egg:swift#memcache\nmemcache_servers = 127.0.0.1:%d\n"
                    % self.ports["memcached"] +
                    "\n[filter:catch_errors]\nuse = egg:swift#catch_errors\n"
                    "\n[filter:gatekeeper]\nuse = egg:swift#gatekeeper\n"
                    "\n[filter:healthcheck]\nuse = egg:swift#healthcheck\n"
                    "\n[filter:proxy-logging]\nuse = egg:swift#proxy_logging\n"
                    "\n[filter:listing_formats]\nuse = egg:swift#listing_formats\n"
                    "\n[filter:copy]\nuse = egg:swift#copy\n"
                    "\n[filter:slo]\nuse = egg:swift#slo\n"
                    "\n[filter:dlo]\nuse = egg:swift#dlo\n")
        # one device, one replica: rings of 2^6 partitions, built in one
        # Python process (swift-ring-builder three times per ring costs ~25 s
        # on a loaded 2-core machine)
        script = ("import sys\nfrom swift.common.ring import RingBuilder\n"
                  "for name, port in zip(sys.argv[2::2], sys.argv[3::2]):\n"
                  "    b = RingBuilder(6, 1, 1)\n"
                  "    b.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1',"
                  " 'port': int(port), 'device': 'd1', 'weight': 100, 'meta': ''})\n"
                  "    b.rebalance()\n"
                  "    b.save(sys.argv[1] + '/' + name + '.builder')\n"
                  "    b.get_ring().save(sys.argv[1] + '/' + name + '.ring.gz')\n")
        args = ["/usr/bin/python3", "-c", script, etc]
        for s in SERVERS:
            args += [s, str(self.ports[s])]
        estest.run(args)

    def _spawn(self, name, args):
        log = open(os.path.join(self.dir, "run", name + ".log"), "ab")
        self.procs[name] = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        log.close()

    def _wait_http(self, port, path, name, timeout=40):
        end = time.time() + timeout
        while time.time() < end:
            p = self.procs.get(name)
            if p and p.poll() is not None:
                raise RuntimeError("%s exited %s:\n%s" % (name, p.returncode, self.log(name)))
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path),
                                            timeout=2) as r:
                    if r.status < 500:
                        return
            except urllib.error.HTTPError as e:
                if e.code < 500:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("%s did not answer on port %d:\n%s" % (name, port, self.log(name)))

    def log(self, name):
        try:
            with open(os.path.join(self.dir, "run", name + ".log"), errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def _start_all(self):
        self._spawn("memcached", ["memcached", "-l", "127.0.0.1", "-p",
                                  str(self.ports["memcached"]), "-U", "0", "-m", "16"]
                    + (["-u", "root"] if os.geteuid() == 0 else []))
        etc = os.path.join(self.dir, "etc")
        for s in SERVERS:
            self._spawn(s, ["swift-%s-server" % s, os.path.join(etc, "%s-server.conf" % s)])
        self.start_proxy()
        for s in SERVERS:
            self._wait_http(self.ports[s], "/healthcheck", s)

    def start_proxy(self):
        etc = os.path.join(self.dir, "etc")
        self._spawn("proxy", ["swift-proxy-server", os.path.join(etc, "proxy-server.conf")])
        self._wait_http(self.ports["proxy"], "/healthcheck", "proxy")

    def stop_proxy(self):
        self._stop("proxy")

    def _stop(self, name):
        p = self.procs.pop(name, None)
        if not p:
            return
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()

    def close(self):
        for name in list(self.procs):
            self._stop(name)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    # ---- use ----------------------------------------------------------------------
    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.ports["proxy"]

    def netrc(self):
        """A netrc file for curl (the access key holds a ':', so -u cannot carry it)."""
        path = os.path.join(self.dir, "netrc")
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write("machine 127.0.0.1 login %s password %s\n" %
                        (self.access_key, self.secret_key))
            os.chmod(path, 0o600)
        return path

    def curl(self, method, path, *extra, data_file=None, check=True):
        """curl with SigV4 (its own signer) against the server: (status, body bytes)."""
        args = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-X", method,
                "--aws-sigv4", "aws:amz:%s:s3" % self.region, "--netrc-file", self.netrc(),
                *extra]
        if data_file:
            args += ["-T", data_file]
        if not any("x-amz-content-sha256" in str(a) for a in extra):
            # SigV4 signs the payload's hash; curl's own signer wants it given
            h = hashlib.sha256()
            if data_file:
                with open(data_file, "rb") as f:
                    for b in iter(lambda: f.read(1 << 20), b""):
                        h.update(b)
            args += ["-H", "x-amz-content-sha256: " + h.hexdigest()]
        args.append(self.endpoint + path)
        p = subprocess.run(args, capture_output=True)
        body, _, code = p.stdout.rpartition(b"\n")
        status = int(code or b"0")
        if check and not 200 <= status < 300:
            raise RuntimeError("curl %s %s: %d %s" % (method, path, status, body[:300]))
        return status, body

    def make_bucket(self, name):
        self.curl("PUT", "/" + name)

    def conf(self, bucket, prefix="", secret=None):
        """The [s3] section of an earshot configuration for this server."""
        return ("[s3]\nendpoint = %s\nregion = %s\npath_style = true\n"
                "access_key = %s\nsecret_key = %s\nretries = 3\nbackoff = 100ms\n"
                % (self.endpoint, self.region, self.access_key,
                   secret if secret is not None else self.secret_key))


if __name__ == "__main__":
    # a manual check: start, make a bucket, put and get an object, stop
    with S3Server() as s3:
        s3.make_bucket("smoke")
        print("up at", s3.endpoint, "in", s3.dir)
        src = os.path.join(s3.dir, "hello.txt")
        with open(src, "w") as f:
            f.write("hello\n")
        print(s3.curl("PUT", "/smoke/hello.txt", data_file=src))
        print(s3.curl("GET", "/smoke/hello.txt"))
