/*
 * authmilter - the milter daemon for Postfix and Sendmail, and with
 * --smtp the standalone SMTP listener.
 *
 *   authmilter [-f] [-c CONFIG] [-p SOCKET] [-u USER] [-g GROUP]
 *              [-P PIDFILE] [-o key=value]... [-t [-v]]
 *   authmilter --smtp [ADDRESS:]PORT [the same options]
 *   authmilter -h | --help | -V | --version
 *
 * With --smtp the same lifecycle runs the SMTP listener (smtpd.c)
 * instead of the milter: the same binary, config file and overrides.
 *
 * Reads the config file (authmilter.conf(5)), applies the command-line
 * overrides over it (-p, -u, -g, -P and each -o in order) and runs the
 * milter front end (mfilter.c) on the server core (server.c): it opens the
 * milter socket, detaches unless -f, writes the pid file, drops to the
 * configured user and group, and serves the MTA over the milter protocol
 * (mfilter.c on milterproto.c and milterconn.c) until
 * SIGTERM or SIGINT: then it stops accepting connections, lets the
 * messages in flight finish, and exits 0.
 * SIGHUP reloads the config file (with the same overrides): a config that
 * does not load leaves the running one in place, and connections keep the
 * config they began with.  The DNS resolver and cache are made once, so
 * dns_* settings, like the socket, user, group, pid file and syslog
 * facility, take effect at the next start.
 *
 * -t checks the configuration and what the start would need (server.h);
 * -t -v also prints the effective configuration, every key, as a config
 * file.
 *
 * Exit status: as server_main() returns (server.h: 0, or a sysexits(3)
 * code); 2 on a usage error, with the usage on stderr (-h prints it on
 * stdout and exits 0).
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
	      "                  [-o key=value]... [-t [-v]]\n"
	      "       authmilter --smtp [ADDRESS:]PORT [options]\n"
	      "       authmilter -h | --help | -V | --version\n"
	      "  --smtp [ADDRESS:]PORT  be the SMTP listener (standalone filter) instead\n"
	      "                of the milter; also the smtp_listen key\n"
	      "  -f            stay in the foreground and log to standard error\n"
	      "  -c CONFIG     config file (default " AUTHMILTER_DEFAULT_CONFIG ")\n"
	      "  -p SOCKET     unix:/path, inet:port@host or inet6:port@host\n"
	      "  -u USER       run as USER once the socket is open\n"
	      "  -g GROUP      run with group GROUP\n"
	      "  -P PIDFILE    write the process id there\n"
	      "  -o key=value  set a config key (repeatable; applied after the file)\n"
	      "  -t            check the configuration and what the start needs, and exit\n"
	      "  -v            with -t: print the effective configuration, every key\n"
	      "  -h, --help    print this help and exit\n"
	      "  -V, --version print the version and exit\n",
	      f);
}

static const struct option long_options[] = {
    {"smtp", required_argument, NULL, 'S'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

enum parsed { PARSED_RUN, PARSED_HELP, PARSED_VERSION, PARSED_USAGE };

static int
parse_one(struct server_args *a, bool *smtp, int c)
{
	switch (c) {
	case 'S':
		*smtp = true;
		return server_args_add(a, "smtp_listen", optarg, NULL);
	case 'f':
		a->foreground = true;
		return 0;
	case 'c':
		a->config = optarg;
		a->config_given = true;
		return 0;
	case 'p':
		return server_args_add(a, "socket", optarg, NULL);
	case 'u':
		return server_args_add(a, "user", optarg, NULL);
	case 'g':
		return server_args_add(a, "group", optarg, NULL);
	case 'P':
		return server_args_add(a, "pidfile", optarg, NULL);
	case 'o':
		return server_args_add_kv(a, optarg);
	case 't':
		a->check_only = true;
		return 0;
	case 'v':
		a->verbose = true;
		return 0;
	default:
		return -1;
	}
}

static enum parsed
parse_args(struct server_args *a, bool *smtp, int argc, char **argv)
{
	int c;

	server_args_init(a, AUTHMILTER_DEFAULT_CONFIG);
	/* Both front ends know the listener's keys: one file serves both. */
	a->keys_new = smtpd_conf_keys;
	*smtp = false;
	while ((c = getopt_long(argc, argv, "fc:p:u:g:P:o:tvhV", long_options, NULL)) != -1) {
		if (c == 'h')
			return PARSED_HELP;
		if (c == 'V')
			return PARSED_VERSION;
		if (parse_one(a, smtp, c) < 0)
			return PARSED_USAGE;
	}
	if (optind < argc) {
		fprintf(stderr, "authmilter: unexpected argument %s\n", argv[optind]);
		return PARSED_USAGE;
	}
	if (a->verbose && !a->check_only) {
		fprintf(stderr, "authmilter: -v goes with -t\n");
		return PARSED_USAGE;
	}
	return PARSED_RUN;
}

int
main(int argc, char **argv)
{
	struct server_args args;
	enum parsed p;
	bool smtp;
	int rc;

	p = parse_args(&args, &smtp, argc, argv);
	if (p != PARSED_RUN) {
		if (p == PARSED_VERSION)
			puts(PACKAGE_STRING);
		else
			usage(p == PARSED_HELP ? stdout : stderr);
		server_args_free(&args);
		return p == PARSED_USAGE ? 2 : 0;
	}
	rc = server_main(smtp ? &smtpd_frontend : &mfilter_frontend, &args);
	server_args_free(&args);
	return rc;
}
