/*
 * handlers_peaks.c - GET /api/calls/{id}/peaks: the waveform of a recording for the player.
 */
#include "api/server_internal.h"

#include <microhttpd.h>

int srv_call_peaks(struct srv_req *r, int64_t id)
{
	(void)r;
	(void)id;
	return srv_error(r, MHD_HTTP_NOT_IMPLEMENTED, "not_implemented", NULL, "not implemented yet");
}

