"""Live SIP calls with RTP on loopback, for the tests of `earshot record`.

A sipp UAS answers and a sipp UAC places N calls, both on 127.0.0.1 with
their own SIP ports, and both play G.711 A-law (sip-tester's g711a.pcap,
looped to the wanted length) to each other, each call on its own pair of
media ports ([auto_media_port]: base + 4 * (call number - 1)).  So every
call has two RTP streams, one each way.  A tcpdump on lo records the same
traffic for tshark to count independently of earshot.  The tests that use
it call estest.own_loopback() first: a lo of their own, no other program's
traffic on it.

Run it alone to check the traffic side:
    python3 tests/integration/livecalls.py [--calls 100] [--length 10]

Python 3 standard library only; needs root (sipp's pcap play and tcpdump
use raw sockets), sipp (sip-tester), tcpdump and tshark."""
import argparse
import atexit
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time

import estest

SHIPPED = "/usr/share/sip-tester/g711a.pcap"
TOOLS = ("sipp", "tcpdump", "tshark")


class Ports:
    """One test's ports: SIP of the UAS and UAC, media bases of each side.
    By default every one is free right now (estest.free_port and
    free_port_range: never fixed numbers, which another program may hold):
    the two media bases share one free block of 2 * (4 * calls + 8) ports,
    so that the capture filter covers this test's traffic and nothing else.
    calls is the most calls one Calls run with these ports places."""

    def __init__(self, calls=100, uas_sip=None, uac_sip=None, uas_media=None, uac_media=None):
        span = 4 * calls + 8
        if uas_media is None or uac_media is None:
            base = estest.free_port_range(2 * span)
            uas_media, uac_media = base, base + span
        lo, hi = min(uas_media, uac_media), max(uas_media, uac_media) + span
        taken = {uas_sip, uac_sip}
        for _ in range(100):
            if uas_sip is not None and uac_sip is not None:
                break
            p = estest.free_port(udp=True)
            if p in taken or lo <= p < hi:
                continue
            taken.add(p)
            if uas_sip is None:
                uas_sip = p
            else:
                uac_sip = p
        self.uas_sip, self.uac_sip = uas_sip, uac_sip
        self.uas_media, self.uac_media = uas_media, uac_media

    def media_range(self, calls):
        lo = min(self.uas_media, self.uac_media)
        hi = max(self.uas_media, self.uac_media) + 4 * calls + 4
        return lo, hi

    def bpf(self, calls):
        """A capture filter for this traffic only (SIP and media)."""
        lo, hi = self.media_range(calls)
        return ("udp and (port %d or port %d or portrange %d-%d)"
                % (self.uas_sip, self.uac_sip, lo, hi))


def missing_tools():
    """Why the traffic side cannot run here, or None."""
    for t in TOOLS:
        if shutil.which(t) is None:
            return t + " not installed (scripts/bootstrap installs it)"
    if not os.path.exists(SHIPPED):
        return "sip-tester's " + SHIPPED + " not found"
    if os.geteuid() != 0:
        return "sipp's pcap play and capturing on lo need root"
    return None


# --- media ---------------------------------------------------------------

def make_media_pcap(path, seconds, src=SHIPPED, ssrc=None):
    """Writes a pcap of sip-tester's A-law stream looped to `seconds` of
    audio: RTP sequence numbers and timestamps continue across the loops
    (one SSRC, no gap), packet times keep their 30 ms spacing.  ssrc, if
    given, replaces the pcap's SSRC.  Returns the
    media duration (first to last packet + one packet time), in seconds."""
    with open(src, "rb") as f:
        raw = f.read()
    magic = struct.unpack("<I", raw[:4])[0]
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        raise ValueError(src + ": not a little-endian pcap")
    nano = magic == 0xA1B23C4D
    hdr, pkts, off = raw[:24], [], 24
    while off + 16 <= len(raw):
        sec, frac, incl, orig = struct.unpack("<IIII", raw[off:off + 16])
        t = sec + frac / (1e9 if nano else 1e6)
        pkts.append((t, bytearray(raw[off + 16:off + 16 + incl]), orig))
        off += 16 + incl
    t0 = pkts[0][0]
    ptime = 0.030  # 240 samples per packet in g711a.pcap
    loop_len = pkts[-1][0] - t0 + ptime
    per_loop = len(pkts)
    # Ethernet(14) + IPv4 (IHL) + UDP(8) -> RTP header
    ihl = (pkts[0][1][14] & 0x0F) * 4
    rtp = 14 + ihl + 8
    seq0 = struct.unpack(">H", pkts[0][1][rtp + 2:rtp + 4])[0]
    ts_per_loop = 240 * per_loop
    out = bytearray(hdr)
    n, last = 0, 0.0
    while True:
        loop, i = divmod(n, per_loop)
        t, data, orig = pkts[i]
        rel = (t - t0) + loop * loop_len
        if rel + ptime > seconds + 1e-6:
            break
        data = bytearray(data)
        ts = (struct.unpack(">I", data[rtp + 4:rtp + 8])[0] + loop * ts_per_loop) % (1 << 32)
        data[rtp + 2:rtp + 4] = struct.pack(">H", (seq0 + n) % 65536)
        data[rtp + 4:rtp + 8] = struct.pack(">I", ts)
        if ssrc is not None:
            data[rtp + 8:rtp + 12] = struct.pack(">I", ssrc)
        if loop > 0:  # no marker bit in the middle of a stream
            data[rtp + 1] &= 0x7F
        abs_t = t0 + rel
        sec = int(abs_t)
        frac = int(round((abs_t - sec) * (1e9 if nano else 1e6)))
        out += struct.pack("<IIII", sec, frac, len(data), len(data)) + data
        n += 1
        last = rel
    with open(path, "wb") as f:
        f.write(out)
    return last + ptime


UAC_XML = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="earshot live UAC">
  <send retrans="500">
    <![CDATA[

      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]LiveTag[call_number]
      To: [service] <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Subject: earshot live test
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [auto_media_port] RTP/AVP 8
      a=rtpmap:8 PCMA/8000
      a=ptime:30

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true" crlf="true"/>
  <send>
    <![CDATA[

      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]LiveTag[call_number]
      To: [service] <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <nop>
    <action>
      <exec play_pcap_audio="%(media)s"/>
    </action>
  </nop>
  <pause milliseconds="%(call_ms)d"/>
  <send retrans="500">
    <![CDATA[

      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]LiveTag[call_number]
      To: [service] <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
"""

UAS_XML = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="earshot live UAS">
  <recv request="INVITE" crlf="true"/>
  <send>
    <![CDATA[

      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]LiveUas[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]>
  </send>
  <send retrans="500">
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]LiveUas[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [auto_media_port] RTP/AVP 8
      a=rtpmap:8 PCMA/8000
      a=ptime:30

    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
  <nop>
    <action>
      <exec play_pcap_audio="%(media)s"/>
    </action>
  </nop>
  <recv request="BYE"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]>
  </send>
  <timewait milliseconds="1000"/>
</scenario>
"""


# --- capture ---------------------------------------------------------------

class Capture:
    """tcpdump on an interface into `path` with a BPF filter; start() returns
    once tcpdump listens; stop() returns tcpdump's "dropped by kernel" count."""

    def __init__(self, path, bpf, iface="lo", bufsize_kib=32768):
        self.path, self.bpf, self.iface = path, bpf, iface
        self.bufsize_kib = bufsize_kib
        self.proc = None
        self.report = ""

    def start(self, timeout=10):
        self.errpath = self.path + ".tcpdump.log"
        self.err = open(self.errpath, "w+")
        self.proc = subprocess.Popen(["tcpdump", "-i", self.iface, "-n", "-U", "-B",
                                      str(self.bufsize_kib), "-w", self.path, self.bpf],
                                     stdout=subprocess.DEVNULL, stderr=self.err)
        atexit.register(Recorder._reap, self.proc)
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(self.errpath) as f:
                if "listening on" in f.read():
                    return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("tcpdump did not start: " + open(self.errpath).read())

    def stop(self):
        """Returns packets dropped by the kernel (tcpdump's own count)."""
        if self.proc is None:
            return 0
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err.close()
        self.report = open(self.errpath).read()
        self.proc = None
        for line in self.report.splitlines():
            if "dropped by kernel" in line:
                return int(line.split()[0])
        return 0


# --- calls -----------------------------------------------------------------

class Calls:
    """N calls from a sipp UAC to a sipp UAS, both sending RTP.

    length: seconds from ACK to BYE; media: seconds of audio each side plays
    (default length - 0.5, so the audio ends before the BYE); rate: calls
    started per second; concurrency: calls up at once (default: all)."""

    def __init__(self, work, calls=100, length=10.0, rate=50, concurrency=None, ports=None,
                 media=None):
        self.work = work
        self.calls, self.length, self.rate = calls, length, rate
        self.concurrency = concurrency or calls
        self.ports = ports or Ports()
        self.media_s = media if media is not None else max(1.0, length - 0.5)
        self.uas = self.uac = None
        self.uac_result = None
        self.started = self.finished = None
        self._thread = None

    def _prepare(self):
        os.makedirs(self.work, exist_ok=True)
        # sipp plays one pcap for every call, so all calls share an SSRC per
        # direction (streams differ by port only); the two sides differ.
        uac_media = os.path.join(self.work, "media_uac.pcap")
        uas_media = os.path.join(self.work, "media_uas.pcap")
        want = self.media_s
        self.media_s = make_media_pcap(uac_media, want)
        make_media_pcap(uas_media, want, ssrc=0x5EED0A5)
        for name, xml, media in (("uac.xml", UAC_XML, uac_media), ("uas.xml", UAS_XML, uas_media)):
            with open(os.path.join(self.work, name), "w") as f:
                f.write(xml % {"media": media, "call_ms": int(self.length * 1000)})

    def start(self):
        """Starts the UAS, then the UAC in a thread; returns at once."""
        self._prepare()
        p = self.ports
        timeout = "%ds" % int(self.length + self.calls / self.rate + 60)
        self.uas_log = open(os.path.join(self.work, "uas.log"), "w")
        self.uas = subprocess.Popen(
            ["sipp", "-sf", "uas.xml", "-i", "127.0.0.1", "-p", str(p.uas_sip),
             "-mi", "127.0.0.1", "-mp", str(p.uas_media), "-m", str(self.calls),
             "-nostdin", "-timeout", timeout, "-trace_err",
             "-error_file", "uas_errors.log"],
            cwd=self.work, stdout=subprocess.DEVNULL, stderr=self.uas_log)
        atexit.register(Recorder._reap, self.uas)
        time.sleep(0.3)
        self.started = time.time()

        self.uac = subprocess.Popen(
            ["sipp", "-sf", "uac.xml", "127.0.0.1:%d" % p.uas_sip, "-i", "127.0.0.1",
             "-p", str(p.uac_sip), "-mi", "127.0.0.1", "-mp", str(p.uac_media),
             "-m", str(self.calls), "-l", str(self.concurrency), "-r", str(self.rate),
             "-nostdin", "-timeout", timeout, "-trace_err", "-error_file", "uac_errors.log",
             "-trace_stat", "-stf", "uac_stat.csv"],
            cwd=self.work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        atexit.register(Recorder._reap, self.uac)

        def uac():
            out, err = self.uac.communicate()
            self.uac_result = subprocess.CompletedProcess(self.uac.args, self.uac.returncode,
                                                          out, err)
            self.finished = time.time()
        self._thread = threading.Thread(target=uac, daemon=True)
        self._thread.start()
        return self

    def wait(self):
        """Waits for both sides; returns (uac exit code, uas exit code)."""
        self._thread.join()
        try:
            uas_rc = self.uas.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.uas.kill()
            uas_rc = self.uas.wait()
        self.uas_log.close()
        return self.uac_result.returncode, uas_rc

    def run(self):
        self.start()
        return self.wait()

    def successful(self):
        """Calls the UAC counts as successful (from its -trace_stat file)."""
        path = os.path.join(self.work, "uac_stat.csv")
        try:
            lines = open(path).read().splitlines()
        except OSError:
            return None
        head, last = lines[0].split(";"), lines[-1].split(";")
        return int(last[head.index("SuccessfulCall(C)")])


# --- tshark's view -----------------------------------------------------------

def tshark(*args):
    p = subprocess.run(["tshark", "-n"] + list(args), capture_output=True, text=True)
    return p.stdout


def addr(ip, port):
    return "[%s]:%s" % (ip, port) if ":" in ip else "%s:%s" % (ip, port)


def rtp_streams(path):
    """tshark's RTP streams of a capture, from every RTP packet (tshark
    finds them through the SDP): {(src, dst, ssrc): {"packets", "first",
    "last" (epoch seconds), "call_id"}} with ssrc as "0x%08X"."""
    out = {}
    text = tshark("-r", path, "-Y", "rtp", "-T", "fields", "-E", "separator=\t",
                  "-e", "frame.time_epoch", "-e", "ip.src", "-e", "udp.srcport", "-e", "ip.dst",
                  "-e", "udp.dstport", "-e", "rtp.ssrc")
    for line in text.splitlines():
        f = line.split("\t")
        if len(f) < 6 or not f[5]:
            continue
        t = float(f[0])
        key = (addr(f[1], f[2]), addr(f[3], f[4]), "0x%08X" % int(f[5], 16))
        s = out.get(key)
        if s is None:
            out[key] = {"packets": 1, "first": t, "last": t}
        else:
            s["packets"] += 1
            s["last"] = t
    return out


def sdp_ports(path):
    """Call-ID -> set of "127.0.0.1:port" media addresses offered in its SDPs."""
    text = tshark("-r", path, "-Y", "sdp", "-T", "fields", "-E", "separator=\t",
                  "-e", "sip.Call-ID", "-e", "sdp.connection_info.address", "-e", "sdp.media.port")
    out = {}
    for line in text.splitlines():
        f = line.split("\t")
        if len(f) < 3 or not f[0]:
            continue
        out.setdefault(f[0], set()).add(addr(f[1].split(",")[0], f[2].split(",")[0]))
    return out


def streams_by_call(path):
    """Call-ID -> list of its streams (dicts of rtp_streams plus "key"),
    matched by the destination address the call's SDPs offered."""
    streams = rtp_streams(path)
    owner = {}
    for cid, addrs in sdp_ports(path).items():
        for a in addrs:
            owner[a] = cid
    out = {}
    for key, s in streams.items():
        cid = owner.get(key[1])
        s = dict(s, key=key)
        out.setdefault(cid, []).append(s)
    return out


def answered_calls(path):
    """Call-IDs with a 200 to their INVITE, from tshark's SIP decode."""
    text = tshark("-r", path, "-Y", "sip.Status-Code == 200 && sip.CSeq.method == \"INVITE\"",
                  "-T", "fields", "-e", "sip.Call-ID")
    return set(x for x in text.split() if x)


# --- earshot record ------------------------------------------------------------

class Recorder:
    """`earshot --data DATA record -i IFACE --filter BPF ARGS...`, logging to
    DATA/../record-N.log.  status() reads DATA/run/status.json; cli_status()
    asks `earshot status --json`."""

    def __init__(self, earshot, data, bpf, ifaces=("lo",), args=()):
        self.earshot, self.data, self.bpf = earshot, data, bpf
        self.ifaces, self.args = ifaces, list(args)
        self.proc = None
        self.runs = 0

    def command(self):
        cmd = [self.earshot, "--data", self.data, "record"]
        for i in self.ifaces:
            cmd += ["-i", i]
        return cmd + ["--filter", self.bpf] + self.args

    def start(self):
        self.runs += 1
        self.logpath = "%s-record-%d.log" % (self.data.rstrip("/"), self.runs)
        self.log = open(self.logpath, "w")
        self.proc = subprocess.Popen(self.command(), stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        atexit.register(self._reap, self.proc)
        return self

    @staticmethod
    def _reap(proc):
        """A test that dies half-way must not leave earshot capturing."""
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    def status_path(self):
        return os.path.join(self.data, "run", "status.json")

    def status(self):
        """DATA/run/status.json, or None if missing or unreadable."""
        try:
            with open(self.status_path()) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def cli_status(self):
        """(exit code, parsed JSON or None, stderr) of `earshot status --json`."""
        p = subprocess.run([self.earshot, "--data", self.data, "status", "--json"],
                           capture_output=True, text=True)
        try:
            return p.returncode, json.loads(p.stdout), p.stderr
        except ValueError:
            return p.returncode, None, p.stderr + p.stdout

    def wait_status(self, timeout=20):
        """Waits for a status.json written by this process; returns it or None."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            s = self.status()
            if s is not None and s.get("pid") == self.pid:
                return s
            if self.proc.poll() is not None:
                return None
            time.sleep(0.1)
        return None

    def wait_until(self, pred, timeout):
        """Polls status.json until pred(status) holds; returns the last status."""
        deadline = time.time() + timeout
        s = self.status()
        while time.time() < deadline:
            s = self.status()
            if s is not None and pred(s):
                return s
            time.sleep(0.25)
        return s

    def usage(self):
        """(CPU seconds, peak RSS KiB) of the running process, from /proc."""
        try:
            with open("/proc/%d/stat" % self.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            hwm = 0
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm = int(line.split()[1])
            return cpu, hwm
        except (OSError, IndexError, ValueError):
            return None, None

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Sends sig and waits; returns the exit code (None on timeout, after
        which the process is killed)."""
        if self.proc is None:
            return None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self.log.close()
        self.proc = None
        return rc

    def kill9(self):
        return self.stop(signal.SIGKILL, timeout=10)

    def logtext(self):
        try:
            return open(self.logpath).read()
        except OSError:
            return ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=100)
    ap.add_argument("--length", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=50)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    why = missing_tools()
    if why:
        print("SKIP: " + why)
        return 77
    import tempfile
    estest.own_loopback()  # its own lo: no other program's traffic in the capture
    work = tempfile.mkdtemp(prefix="earshot-livecalls-")
    ports = Ports()
    cap = Capture(os.path.join(work, "live.pcap"), ports.bpf(a.calls)).start()
    t0 = time.time()
    calls = Calls(work, a.calls, a.length, a.rate, ports=ports)
    uac_rc, uas_rc = calls.run()
    took = time.time() - t0
    time.sleep(0.5)
    dropped = cap.stop()
    by_call = streams_by_call(cap.path)
    streams = [s for v in by_call.values() for s in v]
    answered = answered_calls(cap.path)
    per_call = sorted(len(v) for k, v in by_call.items() if k)
    durations = [s["last"] - s["first"] for s in streams]
    print("calls: %d placed in %.1f s, uac exit %d, uas exit %d, %s successful (sipp)"
          % (a.calls, took, uac_rc, uas_rc, calls.successful()))
    print("tshark: %d answered calls, %d RTP streams, %d packets, streams per call %s..%s, "
          "stream durations %.2f..%.2f s (media %.2f s), tcpdump kernel drops %d"
          % (len(answered), len(streams), sum(s["packets"] for s in streams),
             per_call[0] if per_call else "-", per_call[-1] if per_call else "-",
             min(durations or [0]), max(durations or [0]), calls.media_s, dropped))
    old = tshark("-q", "-z", "rtp,streams", "-r", cap.path)
    n_old = sum(1 for line in old.splitlines() if " 0x" in line)
    print("tshark -z rtp,streams: %d streams" % n_old)
    ok = (uac_rc == 0 and len(answered) == a.calls and len(streams) == 2 * a.calls
          and n_old == 2 * a.calls and None not in by_call and dropped == 0
          and per_call == [2] * a.calls)
    print("OK" if ok else "FAIL")
    if a.keep or not ok:
        print("work directory: " + work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
