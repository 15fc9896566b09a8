/*
 * raw.c - a call's raw data: its media log kept after rendering.  The log
 * holds the call's SIP messages as captured (whole text, addresses, time)
 * and its RTP payloads with sequence numbers, timestamps, SSRCs and stream
 * addresses, encrypted like the spool (media/mlog.c format 2).  It is
 * moved, not copied, from the spool into DATA/raw/<row / 1000>/<row>.mlog
 * once the recording is rendered, and removed with the recording
 * (delete.c).  Readers: the SIP ladder (rec_raw_sip_json) and the rebuilt
 * capture (pcap_rebuild.c).
 */
#include "record/record_internal.h"
#include "sip/sip.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TAG "raw"

/* By the call's row alone (a thousand calls a folder), so that every
 * deletion path, which knows the row, finds it. */
int rec_raw_path(const char *data_dir, int64_t row, char *out, size_t cap)
{
	if (row <= 0)
		return ES_EINVAL;
	int n = snprintf(out, cap, "%s/raw/%lld/%lld.mlog", data_dir, (long long)(row / 1000),
			 (long long)row);
	return n < 0 || (size_t)n >= cap ? ES_ELIMIT : 0;
}

/* fsync the folder that holds path, so a rename into it is durable. */
static int raw_sync_dir(const char *path)
{
	char dir[1100];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ES_EIO;
	int rc = fsync(fd) == 0 ? 0 : ES_EIO;
	close(fd);
	return rc;
}

int rec_raw_keep(const char *data_dir, int64_t row, const char *media_log)
{
	char dst[1100];
	int rc = rec_raw_path(data_dir, row, dst, sizeof(dst));
	if (!rc && es_mkdirs(dst, false))
		rc = ES_EIO;
	/* the spool is inside the data folder: a rename, never a copy of the
	 * (encrypted) bytes */
	if (!rc && (rename(media_log, dst) || raw_sync_dir(dst)))
		rc = ES_EIO;
	if (rc) {
		ES_LOG_WARNING(TAG, "call %lld: its raw data (SIP and RTP) could not be kept as %s: "
			       "%s; the recording is not affected", (long long)row, dst,
			       rc == ES_EIO ? strerror(errno) : es_strerror(rc));
		unlink(media_log);
	}
	return rc;
}

int rec_raw_remove(const char *data_dir, int64_t row)
{
	char p[1100];
	int rc = rec_raw_path(data_dir, row, p, sizeof(p));
	if (rc)
		return rc;
	if (unlink(p) && errno != ENOENT)
		return ES_EIO;
	return 0;
}

int rec_raw_open(const char *data_dir, struct st_vault *vault, int64_t row,
		 struct mlog_reader **out, char *err, size_t errlen)
{
	char p[1100];
	int rc = rec_raw_path(data_dir, row, p, sizeof(p));
	if (rc)
		return es_errf(err, errlen, rc, "call %lld: no raw data path", (long long)row);
	if (access(p, F_OK) != 0)
		return es_errf(err, errlen, ES_ENOTFOUND,
			       "call %lld has no raw data (SIP and RTP are kept from this version "
			       "on, for recorded calls; removed by retention, deletion and "
			       "redaction)", (long long)row);
	struct mlog_keys keys;
	rec_spool_keys(&keys, vault);
	return mlog_open_keyed(out, p, vault ? &keys : NULL, err, errlen);
}

/* ---- the SIP ladder ------------------------------------------------------------ */

static void json_addr(struct es_json *j, const char *key, const struct es_addr *a)
{
	char buf[ES_ADDR_STRLEN];
	es_addr_fmt(a, true, buf, sizeof(buf));
	es_json_key(j, key);
	es_json_str(j, buf);
}

static const char *raw_transport(uint8_t proto)
{
	switch (proto) {
	case NET_PROTO_UDP: return "udp";
	case NET_PROTO_TCP: return "tcp";
	case NET_PROTO_SCTP: return "sctp";
	case NET_PROTO_WS: return "ws";
	default: return "other";
	}
}

/* What an SDP offers or answers, per media line: codecs, address:port,
 * direction (RFC 4566 5.14, RFC 3264 6.1). */
static void json_sdp(struct es_json *j, const struct sip_msg *m)
{
	struct slice body;
	struct sdp sdp;
	if (!m->body.len || sip_body_find(m->content_type, m->body, "application/sdp", &body) ||
	    sdp_parse(&sdp, body.p, body.len)) {
		es_json_key(j, "sdp");
		es_json_null(j);
		return;
	}
	es_json_key(j, "sdp");
	es_json_arr_begin(j);
	for (unsigned i = 0; i < sdp.nmedia; i++) {
		const struct sdp_media *md = &sdp.media[i];
		es_json_obj_begin(j);
		es_json_key(j, "type");
		es_json_strn(j, md->type.p, md->type.len);
		json_addr(j, "addr", &md->addr);
		es_json_key(j, "direction");
		es_json_str(j, md->port ? sdp_dir_name(md->dir) : "rejected");
		es_json_key(j, "codecs");
		es_json_arr_begin(j);
		for (unsigned f = 0; f < md->nfmt; f++) {
			const struct sdp_rtpmap *rm = sdp_rtpmap_find(md, md->fmts[f]);
			char name[64];
			if (rm)
				snprintf(name, sizeof(name), "%.*s/%u", (int)ES_MIN(rm->encoding.len, 40),
					 rm->encoding.p, (unsigned)rm->clock);
			else
				snprintf(name, sizeof(name), "pt %u", (unsigned)md->fmts[f]);
			es_json_str(j, name);
		}
		es_json_arr_end(j);
		es_json_obj_end(j);
	}
	es_json_arr_end(j);
}

static void json_msg(struct es_json *j, const struct mlog_rec *rec)
{
	struct sip_msg m;
	bool ok = sip_msg_parse(&m, (const char *)rec->payload, rec->len) == 0;
	es_json_obj_begin(j);
	es_json_key(j, "ts_us");
	es_json_int(j, rec->ts_us);
	json_addr(j, "src", &rec->src);
	json_addr(j, "dst", &rec->dst);
	es_json_key(j, "transport");
	es_json_str(j, raw_transport(rec->proto));
	es_json_key(j, "label");
	if (!ok) {
		es_json_str(j, "(unparsed)");
	} else if (m.is_request) {
		es_json_strn(j, m.method.p, m.method.len);
	} else {
		char st[80];
		snprintf(st, sizeof(st), "%u %.*s", m.status, (int)ES_MIN(m.reason.len, 60),
			 m.reason.p);
		es_json_str(j, st);
	}
	es_json_key(j, "request");
	es_json_bool(j, ok && m.is_request);
	es_json_key(j, "call_id");
	if (ok)
		es_json_strn(j, m.call_id.p, m.call_id.len);
	else
		es_json_null(j);
	es_json_key(j, "cseq");
	if (ok) {
		char cs[64];
		snprintf(cs, sizeof(cs), "%u %.*s", (unsigned)m.cseq,
			 (int)ES_MIN(m.cseq_method.len, 32), m.cseq_method.p);
		es_json_str(j, cs);
	} else {
		es_json_null(j);
	}
	if (ok)
		json_sdp(j, &m);
	es_json_key(j, "text");
	es_json_strn(j, (const char *)rec->payload, rec->len);
	es_json_obj_end(j);
}

int rec_raw_sip_json(struct mlog_reader *r, struct es_json *j, char *err, size_t errlen)
{
	struct mlog_rec rec;
	int got;
	es_json_arr_begin(j);
	while ((got = mlog_next(r, &rec, err, errlen)) == 1)
		if (rec.type == MLOG_REC_SIP)
			json_msg(j, &rec);
	es_json_arr_end(j);
	return got < 0 ? got : 0;
}
