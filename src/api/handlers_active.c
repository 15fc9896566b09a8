/*
 * handlers_active.c - GET /api/active: the calls a live recorder is recording now.
 */
#include "api/server_internal.h"

#include <microhttpd.h>

int srv_active(struct srv_req *r)
{
	(void)r;
	return srv_error(r, MHD_HTTP_NOT_IMPLEMENTED, "not_implemented", NULL, "not implemented yet");
}

