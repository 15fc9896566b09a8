/* fuzz_pcap.c - a whole capture file through net_file and the decoder. */
#include "net/net.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t on_tcp(void *ud, const struct net_pkt *pkt)
{
	(void)ud;
	return pkt->len > 100 ? pkt->len : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz_pcap", 0);
	if (fd < 0)
		return 0;
	size_t o = 0;
	while (o < size) {
		ssize_t w = write(fd, data + o, size - o);
		if (w <= 0) {
			close(fd);
			return 0;
		}
		o += (size_t)w;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	char err[512];
	struct net_file *f = NULL;
	if (net_file_open(&f, path, err, sizeof(err)) == 0) {
		struct net_decoder *d = NULL;
		if (net_decoder_new(&d, NULL, NULL, on_tcp, NULL) == 0) {
			const uint8_t *p;
			size_t caplen;
			int64_t ts = 0;
			uint64_t frame;
			while (net_file_next(f, &p, &caplen, &ts, &frame) == 1)
				net_decode_frame(d, net_file_dlt(f), p, caplen, ts, frame);
			(void)net_file_offset(f);
			(void)net_file_size(f);
			net_decoder_expire(d, ts < INT64_MAX - INT64_C(1000000000) ? ts + INT64_C(1000000000) : ts);
			net_decoder_free(d);
		}
		net_file_close(f);
	}
	close(fd);
	return 0;
}
