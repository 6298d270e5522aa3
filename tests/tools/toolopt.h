/*
 * toolopt.h - --help and --version for the test tools, given as the only
 * argument: the usage on stdout, or the name and version, and exit 0.
 * Header-only; each tool includes it once and calls toolopt_check() first.
 */
#ifndef TOOLOPT_H
#define TOOLOPT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void
toolopt_check(int argc, char **argv, const char *name, const char *usage)
{
	if (argc != 2)
		return;
	if (strcmp(argv[1], "--help") == 0) {
		fputs(usage, stdout);
		exit(0);
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("%s (%s)\n", name, PACKAGE_STRING);
		exit(0);
	}
}

#endif
