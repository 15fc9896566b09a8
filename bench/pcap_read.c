/*
 * pcap_read.c - the baseline for import benchmarks: open a capture with
 * libpcap and read every packet, touching its bytes, and nothing else.
 */
#include <pcap/pcap.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: pcap_read FILE.pcap\n"
		   "Reads every packet of FILE with libpcap (summing one byte of each, so\n"
		   "that the data is touched) and prints packets, bytes, seconds and\n"
		   "packets per second: the floor for any tool that reads the file.\n"
		   "  -h, --help  this help\n");
}

int main(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-') {
		usage(stderr);
		return 2;
	}
	char err[PCAP_ERRBUF_SIZE];
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* the same stream set-up as earshot's reader (src/net/file.c), so the
	 * two differ only in what they do per packet */
	FILE *fp = fopen(argv[1], "rb");
	if (!fp) {
		perror(argv[1]);
		return 1;
	}
	setvbuf(fp, NULL, _IOFBF, 256 * 1024);
	pcap_t *p = pcap_fopen_offline(fp, err);
	if (!p) {
		fprintf(stderr, "pcap_read: %s\n", err);
		fclose(fp);
		return 1;
	}
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t packets = 0, bytes = 0, sum = 0;
	int rc;
	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		packets++;
		bytes += h->caplen;
		if (h->caplen)
			sum += data[h->caplen / 2];
	}
	if (rc == PCAP_ERROR) {
		fprintf(stderr, "pcap_read: %s: %s\n", argv[1], pcap_geterr(p));
		pcap_close(p);
		return 1;
	}
	pcap_close(p);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("packets %llu\nbytes %llu\nseconds %.3f\npackets_per_sec %.0f\nchecksum %llu\n",
	       (unsigned long long)packets, (unsigned long long)bytes, secs,
	       secs > 0 ? (double)packets / secs : 0.0, (unsigned long long)sum);
	return 0;
}
