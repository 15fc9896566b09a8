/* fs.c - file system helpers. */
#include "core/core.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

int es_mkdirs(const char *path, bool last)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return ES_ELIMIT;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0750) && errno != EEXIST)
			return ES_EIO;
		*p = '/';
	}
	if (last && mkdir(tmp, 0750) && errno != EEXIST)
		return ES_EIO;
	return 0;
}
