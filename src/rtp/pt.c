/*
 * pt.c - static RTP payload types, RFC 3551 tables 4 and 5.  G.722 keeps
 * the 8000 Hz RTP clock the RFC assigns it (section 4.5.2) although it
 * samples at 16 kHz; Wireshark does the same.
 */
#include "rtp/rtp.h"

static const struct rtp_pt_info pt_table[35] = {
	[0] = {"PCMU", 8000, 1},
	[3] = {"GSM", 8000, 1},
	[4] = {"G723", 8000, 1},
	[5] = {"DVI4", 8000, 1},
	[6] = {"DVI4", 16000, 1},
	[7] = {"LPC", 8000, 1},
	[8] = {"PCMA", 8000, 1},
	[9] = {"G722", 8000, 1},
	[10] = {"L16", 44100, 2},
	[11] = {"L16", 44100, 1},
	[12] = {"QCELP", 8000, 1},
	[13] = {"CN", 8000, 1},
	[14] = {"MPA", 90000, 0},
	[15] = {"G728", 8000, 1},
	[16] = {"DVI4", 11025, 1},
	[17] = {"DVI4", 22050, 1},
	[18] = {"G729", 8000, 1},
	[25] = {"CelB", 90000, 0},
	[26] = {"JPEG", 90000, 0},
	[28] = {"nv", 90000, 0},
	[31] = {"H261", 90000, 0},
	[32] = {"MPV", 90000, 0},
	[33] = {"MP2T", 90000, 0},
	[34] = {"H263", 90000, 0},
};

const struct rtp_pt_info *rtp_pt_static(uint8_t pt)
{
	if (pt >= sizeof(pt_table) / sizeof(pt_table[0]) || !pt_table[pt].name)
		return NULL;
	return &pt_table[pt];
}
