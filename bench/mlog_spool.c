/*
 * mlog_spool.c - what spooling costs per call: the media log writer as the
 * live path drives it (a G.711 call, two parties, a 160-byte payload every
 * 20 ms each way, a flush every second), plain (format 1) against
 * encrypted (format 2, a key per log wrapped by a real keyring in a
 * temporary data folder, as record/spool.c does), and the reader
 * (recovery, rendering) over the same logs.  CPU time (user + system) per
 * call-second, best of --repeat runs.
 *
 *   mlog_spool [--calls N] [--seconds S] [--repeat R] [--dir DIR]
 */
#include "media/media.h"
#include "record/record.h"
#include "store/vault.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* One call's log: seconds of audio both ways, flushed every second. */
static int write_call(const char *path, unsigned seconds, const struct mlog_keys *keys)
{
	struct mlog_writer *w;
	uint8_t pl[160];
	int64_t t0 = 1700000000000000LL;
	int rc = mlog_create_keyed(&w, path, "bench-call@example.org", t0, 0, keys);
	if (rc)
		return rc;
	rc = mlog_meta(w, "call_id=bench-call@example.org\ncaller.user=1000\n", 48);
	for (unsigned s = 0; !rc && s < 2; s++)
		rc = mlog_stream(w, s, s ? MLOG_CALLEE : MLOG_CALLER, 0x1000 + s);
	if (!rc)
		rc = mlog_ptmap(w, MLOG_CALLER, 0, "PCMU", 8000, 1);
	for (unsigned i = 0; !rc && i < seconds * 50; i++) {
		for (unsigned s = 0; !rc && s < 2; s++) {
			for (size_t k = 0; k < sizeof(pl); k++)
				pl[k] = (uint8_t)(i * 7 + k * 13 + s);
			rc = mlog_rtp(w, s, t0 + (int64_t)i * 20000, (uint16_t)i, i * 160, 0, false,
				      pl, sizeof(pl));
		}
		if (!rc && i % 50 == 49)
			rc = mlog_flush(w, false);
	}
	int c = mlog_close(w);
	return rc ? rc : c;
}

static int read_call(const char *path, const struct mlog_keys *keys, unsigned long *n)
{
	struct mlog_reader *r;
	struct mlog_rec rec;
	char err[256];
	int rc = mlog_open_keyed(&r, path, keys, err, sizeof(err));
	if (rc)
		return rc;
	while ((rc = mlog_next(r, &rec, err, sizeof(err))) == 1)
		*n += rec.type == MLOG_REC_RTP;
	mlog_reader_close(r);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned calls = 200, seconds = 60, repeat = 3;
	const char *dir = "/tmp";
	static const struct option lo[] = {{"calls", 1, 0, 'n'}, {"seconds", 1, 0, 's'},
					   {"repeat", 1, 0, 'r'}, {"dir", 1, 0, 'd'}, {0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "n:s:r:d:", lo, NULL)) != -1) {
		if (c == 'n')
			calls = (unsigned)atoi(optarg);
		else if (c == 's')
			seconds = (unsigned)atoi(optarg);
		else if (c == 'r')
			repeat = (unsigned)atoi(optarg);
		else if (c == 'd')
			dir = optarg;
		else
			return 2;
	}
	char work[512], data[600], path[700], err[256];
	snprintf(work, sizeof(work), "%s/mlog_spool.XXXXXX", dir);
	if (!mkdtemp(work))
		return 1;
	snprintf(data, sizeof(data), "%s/data", work);
	mkdir(data, 0700);
	struct st_vault *v;
	if (st_vault_open(&v, data, true, err, sizeof(err))) {
		fprintf(stderr, "mlog_spool: %s\n", err);
		return 1;
	}
	struct mlog_keys keys;
	rec_spool_keys(&keys, v);
	printf("mlog_spool: %u calls x %u s, G.711 both ways, a flush a second\n", calls, seconds);
	printf("%-10s %14s %14s %12s %14s\n", "format", "write CPU s", "us/call-s", "MiB",
	       "read us/call-s");
	for (int enc = 0; enc < 2; enc++) {
		double best_w = 1e9, best_r = 1e9;
		off_t bytes = 0;
		for (unsigned rep = 0; rep < repeat; rep++) {
			double t = cpu_s();
			for (unsigned i = 0; i < calls; i++) {
				snprintf(path, sizeof(path), "%s/%u.mlog", work, i);
				unlink(path);
				if (write_call(path, seconds, enc ? &keys : NULL)) {
					fprintf(stderr, "mlog_spool: cannot write %s\n", path);
					return 1;
				}
			}
			double w = cpu_s() - t;
			unsigned long n = 0;
			t = cpu_s();
			bytes = 0;
			for (unsigned i = 0; i < calls; i++) {
				snprintf(path, sizeof(path), "%s/%u.mlog", work, i);
				struct stat st;
				if (stat(path, &st) == 0)
					bytes += st.st_size;
				if (read_call(path, enc ? &keys : NULL, &n)) {
					fprintf(stderr, "mlog_spool: cannot read %s\n", path);
					return 1;
				}
			}
			double r = cpu_s() - t;
			if (n != (unsigned long)calls * seconds * 100) {
				fprintf(stderr, "mlog_spool: read %lu packets\n", n);
				return 1;
			}
			best_w = w < best_w ? w : best_w;
			best_r = r < best_r ? r : best_r;
		}
		double cs = (double)calls * seconds;
		printf("%-10s %14.3f %14.2f %12.1f %14.2f\n", enc ? "encrypted" : "plain", best_w,
		       best_w * 1e6 / cs, (double)bytes / 1048576.0, best_r * 1e6 / cs);
	}
	for (unsigned i = 0; i < calls; i++) {
		snprintf(path, sizeof(path), "%s/%u.mlog", work, i);
		unlink(path);
	}
	st_vault_close(v);
	char cmd[800];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
	return system(cmd) == 0 ? 0 : 1;
}
