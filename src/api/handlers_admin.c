/*
 * handlers_admin.c - user administration over the API and the rules' read-only view.
 */
#include "api/server_internal.h"

#include <microhttpd.h>

int srv_user_create(struct srv_req *r)
{
	(void)r;
	return srv_error(r, MHD_HTTP_NOT_IMPLEMENTED, "not_implemented", NULL, "not implemented yet");
}

int srv_user_route(struct srv_req *r, const char *rest)
{
	(void)r;
	(void)rest;
	return srv_error(r, MHD_HTTP_NOT_IMPLEMENTED, "not_implemented", NULL, "not implemented yet");
}

int srv_rules(struct srv_req *r)
{
	(void)r;
	return srv_error(r, MHD_HTTP_NOT_IMPLEMENTED, "not_implemented", NULL, "not implemented yet");
}

