/*
 * file.c - reading pcap and pcapng capture files through libpcap, with
 * microsecond timestamps, byte offsets for progress, and errors that say
 * which frame was bad or what the file really is.
 */
#include "net/net_internal.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The capture stream's buffer: stdio's default (st_blksize, 4 KiB here)
 * would cost a read() every few packets. */
#define NET_FILE_BUF (256 * 1024)

struct net_file {
	pcap_t *p;
	FILE *fp; /* libpcap's stream, for the read offset */
	char *iobuf; /* fp's buffer (NET_FILE_BUF), freed once fp is closed */
	char *path;
	uint64_t size;
	uint64_t offset;
	uint64_t frame;
	int dlt;
	char err[PCAP_ERRBUF_SIZE + 256];
};

/* Formats libpcap does not read, recognised by their first bytes, with
 * what to do about them. */
static const struct {
	const char *magic;
	size_t len;
	const char *what;
} foreign[] = {
	{"GMBU", 4, "a Microsoft Network Monitor 2.x capture; convert it with "
		    "`editcap -F pcap in out`"},
	{"RTSS", 4, "a Microsoft Network Monitor 1.x capture; convert it with "
		    "`editcap -F pcap in out`"},
	{"snoop\0\0\0", 8, "a Solaris snoop capture; convert it with "
			   "`editcap -F pcap in out`"},
	{"XCP\0", 4, "a NetXRay/Windows Sniffer capture; convert it with "
		     "`editcap -F pcap in out`"},
};

int net_file_open(struct net_file **out, const char *path, char *err, size_t errlen)
{
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	FILE *probe = fopen(path, "rb");
	if (!probe) {
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return ES_EIO;
	}
	uint8_t head[8] = {0};
	size_t got = fread(head, 1, sizeof(head), probe);
	struct stat sb;
	bool is_dir = fstat(fileno(probe), &sb) == 0 && S_ISDIR(sb.st_mode);
	uint64_t size = is_dir ? 0 : (uint64_t)sb.st_size;
	fclose(probe);
	if (is_dir) {
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot read: is a directory", path);
		return ES_EIO;
	}
	for (size_t i = 0; i < ES_ARRAY_LEN(foreign); i++) {
		if (got >= foreign[i].len && memcmp(head, foreign[i].magic, foreign[i].len) == 0) {
			if (err && errlen)
				snprintf(err, errlen, "%s: not pcap or pcapng: this is %s",
					 path, foreign[i].what);
			return ES_EFORMAT;
		}
	}

	char ebuf[PCAP_ERRBUF_SIZE];
	ebuf[0] = '\0';
	/* Our own stream with a large buffer (NET_FILE_BUF).  The buffer is
	 * passed in: glibc's setvbuf ignores the size when the buffer is NULL
	 * and keeps its 4 KiB, which is what earlier versions got. */
	char *iobuf = malloc(NET_FILE_BUF);
	FILE *fp = iobuf ? fopen(path, "rb") : NULL;
	if (!fp) {
		int e = errno;
		free(iobuf);
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot open: %s", path,
				 iobuf ? strerror(e) : "out of memory");
		return iobuf ? ES_EIO : ES_ENOMEM;
	}
	setvbuf(fp, iobuf, _IOFBF, NET_FILE_BUF);
	pcap_t *p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO,
							     ebuf);
	if (!p) {
		fclose(fp);
		free(iobuf);
		if (err && errlen)
			snprintf(err, errlen, "%s: not a readable pcap or pcapng file: %s",
				 path, ebuf);
		return ES_EFORMAT;
	}
	struct net_file *f = calloc(1, sizeof(*f));
	char *cp = f ? strdup(path) : NULL;
	if (!f || !cp) {
		free(f);
		pcap_close(p); /* closes fp */
		free(iobuf);
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", path);
		return ES_ENOMEM;
	}
	f->p = p;
	f->iobuf = iobuf;
	f->fp = pcap_file(p);
	f->path = cp;
	f->size = size;
	f->dlt = pcap_datalink(p);
	f->offset = 0;
	*out = f;
	return 0;
}

int net_file_next(struct net_file *f, const uint8_t **data, size_t *caplen,
		  int64_t *ts_us, uint64_t *frame)
{
	struct pcap_pkthdr *h;
	const u_char *d;
	int r = pcap_next_ex(f->p, &h, &d);
	if (r == 1) {
		f->frame++;
		*data = d;
		*caplen = h->caplen;
		/* pcapng can carry any 64-bit time: saturate, never overflow. */
		int64_t sec = (int64_t)h->ts.tv_sec, us = (int64_t)h->ts.tv_usec, t;
		if (__builtin_mul_overflow(sec, ES_US_PER_SEC, &t) ||
		    __builtin_add_overflow(t, us, &t))
			t = sec < 0 ? INT64_MIN : INT64_MAX;
		*ts_us = t;
		*frame = f->frame;
		return 1;
	}
	if (r == PCAP_ERROR_BREAK) { /* -2: end of file */
		f->offset = f->size;
		return 0;
	}
	/* libpcap says "truncated dump file; ..." or "truncated pcapng dump
	 * file; ..." for a short last record, other messages for a corrupt one. */
	const char *msg = pcap_geterr(f->p);
	if (!msg)
		msg = "read error";
	bool trunc = strstr(msg, "truncated") != NULL;
	snprintf(f->err, sizeof(f->err), "%s: frame %llu: %s (libpcap: %s)", f->path,
		 (unsigned long long)(f->frame + 1),
		 trunc ? "file is truncated" : "corrupt record", msg);
	return trunc ? ES_ETRUNC : ES_EFORMAT;
}

int net_file_dlt(const struct net_file *f)
{
	return f->dlt;
}

uint64_t net_file_size(const struct net_file *f)
{
	return f->size;
}

uint64_t net_file_offset(const struct net_file *f)
{
	/* asked for now and then (progress), so not kept per frame: ftello
	 * is a system call */
	if (f->offset == f->size || !f->fp)
		return f->offset;
	off_t o = ftello(f->fp);
	return o >= 0 ? (uint64_t)o : f->offset;
}

const char *net_file_error(const struct net_file *f)
{
	return f->err;
}

void net_file_close(struct net_file *f)
{
	if (!f)
		return;
	pcap_close(f->p); /* closes fp, which used iobuf until then */
	free(f->iobuf);
	free(f->path);
	free(f);
}
