/*
 * authmilter - the milter daemon for Postfix and Sendmail, and with
 * --smtp the standalone SMTP listener.
 *
 *   authmilter [-f] [-c CONFIG] [-p SOCKET] [-u USER] [-g GROUP]
 *              [-P PIDFILE] [-o key=value]... [-t]
 *   authmilter --smtp [ADDRESS:]PORT [the same options]
 *
 * With --smtp the same lifecycle runs the SMTP listener (smtpd.c)
 * instead of the milter: the same binary, config file and overrides.
 *
 * Reads the config file (authmilter.conf(5)), applies the command-line
 * overrides over it (-p, -u, -g, -P and each -o in order) and runs the
 * milter front end (mfilter.c) on the server core (server.c): it opens the
 * milter socket, detaches unless -f, writes the pid file, drops to the
 * configured user and group, and serves the MTA through libmilter until
 * SIGTERM or SIGINT: then it stops accepting connections, lets the
 * messages in flight finish, and exits 0.
 * SIGHUP reloads the config file (with the same overrides): a config that
 * does not load leaves the running one in place, and connections keep the
 * config they began with.  The DNS resolver and cache are made once, so
 * dns_* settings, like the socket, user, group, pid file and syslog
 * facility, take effect at the next start.
 *
 * Exit status: 0 after a clean stop or a good -t check; 1 when the config
 * is wrong or the daemon cannot start; 2 on a usage error.
 */
#include "autoconf.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mfilter.h"
#include "server.h"
#include "smtpd.h"
#include "smtpd_conf.h"

#define AUTHMILTER_DEFAULT_CONFIG SYSCONFDIR "/authmilter.conf"

static void
usage(FILE *f)
{
	fputs("usage: authmilter [-f] [-c CONFIG] [-p SOCKET] [-u USER] [-g GROUP] [-P PIDFILE]\n"
	      "                  [-o key=value]... [-t]\n"
	      "       authmilter --smtp [ADDRESS:]PORT [options]\n"
	      "  --smtp [ADDRESS:]PORT  be the SMTP listener (standalone filter) instead\n"
	      "                of the milter; also the smtp_listen key\n"
	      "  -f            stay in the foreground and log to standard error\n"
	      "  -c CONFIG     config file (default " AUTHMILTER_DEFAULT_CONFIG ")\n"
	      "  -p SOCKET     unix:/path, inet:port@host or inet6:port@host\n"
	      "  -u USER       run as USER once the socket is open\n"
	      "  -g GROUP      run with group GROUP\n"
	      "  -P PIDFILE    write the process id there\n"
	      "  -o key=value  set a config key (repeatable; applied after the file)\n"
	      "  -t            check the configuration and exit\n",
	      f);
}

static const struct option long_options[] = {
    {"smtp", required_argument, NULL, 'S'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Returns 0, 1 when help was asked, -1 on a usage error. */
static int
parse_args(struct server_args *a, bool *smtp, int argc, char **argv)
{
	int c, rc = 0;

	server_args_init(a, AUTHMILTER_DEFAULT_CONFIG);
	/* Both front ends know the listener's keys: one file serves both. */
	a->keys_new = smtpd_conf_keys;
	*smtp = false;
	while (rc == 0 &&
	       (c = getopt_long(argc, argv, "fc:p:u:g:P:o:th", long_options, NULL)) != -1) {
		switch (c) {
		case 'S':
			*smtp = true;
			rc = server_args_add(a, "smtp_listen", optarg, NULL);
			break;
		case 'f':
			a->foreground = true;
			break;
		case 'c':
			a->config = optarg;
			a->config_given = true;
			break;
		case 'p':
			rc = server_args_add(a, "socket", optarg, NULL);
			break;
		case 'u':
			rc = server_args_add(a, "user", optarg, NULL);
			break;
		case 'g':
			rc = server_args_add(a, "group", optarg, NULL);
			break;
		case 'P':
			rc = server_args_add(a, "pidfile", optarg, NULL);
			break;
		case 'o':
			rc = server_args_add_kv(a, optarg);
			break;
		case 't':
			a->check_only = true;
			break;
		case 'h':
			return 1;
		default:
			return -1;
		}
	}
	if (rc == 0 && optind < argc) {
		fprintf(stderr, "authmilter: unexpected argument %s\n", argv[optind]);
		return -1;
	}
	return rc;
}

int
main(int argc, char **argv)
{
	struct server_args args;
	bool smtp;
	int rc;

	if ((rc = parse_args(&args, &smtp, argc, argv)) != 0) {
		usage(rc > 0 ? stdout : stderr);
		server_args_free(&args);
		return rc > 0 ? 0 : 2;
	}
	rc = server_main(smtp ? &smtpd_frontend : &mfilter_frontend, &args);
	server_args_free(&args);
	return rc;
}
