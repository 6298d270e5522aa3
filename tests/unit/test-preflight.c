/*
 * test-preflight - the checks -t and the start share: directory names,
 * a missing directory named with errno, and whether an account may read
 * a file or create one, judged from the mode bits along the path.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "preflight.h"
#include "tap.h"

static char base[] = "/tmp/test-preflight-XXXXXX";

static void
path_of(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", base, name);
}

static void
make_file(const char *name, mode_t mode)
{
	char p[256];
	FILE *f;

	path_of(p, sizeof(p), name);
	if ((f = fopen(p, "w")) == NULL || fclose(f) != 0 || chmod(p, mode) != 0)
		exit(1);
}

static void
test_dirname(void)
{
	char d[64];

	preflight_dirname("/run/authmilter/authmilter.sock", d, sizeof(d));
	is_str(d, "/run/authmilter", "a path's directory");
	preflight_dirname("/x", d, sizeof(d));
	is_str(d, "/", "a file in /");
	preflight_dirname("x", d, sizeof(d));
	is_str(d, ".", "a relative name");
}

static void
test_parent_dir(void)
{
	struct auth_error err;
	char p[256];

	path_of(p, sizeof(p), "sock");
	is_int(preflight_parent_dir("socket", p, &err), 0, "an existing directory");
	is_int(preflight_parent_dir("socket", "/nonexistent/authmilter/authmilter.sock", &err), -1,
	       "a missing one");
	is_str(err.msg, "socket: /nonexistent/authmilter does not exist: No such file or directory",
	       "named, with errno's words");
	make_file("plain", 0644);
	path_of(p, sizeof(p), "plain/sock");
	is_int(preflight_parent_dir("socket", p, &err), -1, "a file where a directory should be");
	ok(strstr(err.msg, "plain: Not a directory") != NULL, "says so (%s)", err.msg);
}

/* As another account: judged from the mode bits. */
static void
test_other_account(void)
{
	struct daemon_ident nobody = {65534, 65534, true};
	struct auth_error err;
	char p[256];

	make_file("open.conf", 0644);
	make_file("closed.conf", 0600);
	path_of(p, sizeof(p), "open.conf");
	is_int(preflight_access(p, &nobody, PREFLIGHT_READ, &err), -1,
	       "a directory of mode 0700 on the way");
	ok(strstr(err.msg, ": Permission denied") != NULL && strstr(err.msg, "open.conf") == NULL,
	   "names the directory (%s)", err.msg);
	chmod(base, 0755);
	is_int(preflight_access(p, &nobody, PREFLIGHT_READ, &err), 0, "0644: others may read");
	path_of(p, sizeof(p), "closed.conf");
	is_int(preflight_access(p, &nobody, PREFLIGHT_READ, &err), -1, "0600: others may not");
	ok(strstr(err.msg, "closed.conf: Permission denied") != NULL, "says so (%s)", err.msg);
	is_int(chown(p, 65534, 65534), 0, "given to the account");
	is_int(preflight_access(p, &nobody, PREFLIGHT_READ, &err), 0, "its owner may read it");
	path_of(p, sizeof(p), "missing.conf");
	is_int(preflight_access(p, &nobody, PREFLIGHT_READ, &err), -1, "a file that is not there");
	ok(strstr(err.msg, "missing.conf does not exist") != NULL, "says so (%s)", err.msg);

	path_of(p, sizeof(p), "reports.db");
	is_int(preflight_access(p, &nobody, PREFLIGHT_CREATE, &err), -1,
	       "nobody cannot create files in a root directory of mode 0755");
	ok(strstr(err.msg, ": Permission denied") != NULL, "says so (%s)", err.msg);
	is_int(preflight_access("/nonexistent/dir/reports.db", &nobody, PREFLIGHT_CREATE, &err), -1,
	       "nor in a directory that is missing");
	ok(strstr(err.msg, "/nonexistent") != NULL && strstr(err.msg, "does not exist") != NULL,
	   "says so (%s)", err.msg);
	chmod(base, 0777);
	is_int(preflight_access(p, &nobody, PREFLIGHT_CREATE, &err), 0, "a directory of mode 0777");
	make_file("reports.db", 0600);
	is_int(preflight_access(p, &nobody, PREFLIGHT_CREATE, &err), -1,
	       "but a file of root's there it cannot write");
	chmod(base, 0700);
}

/* Our own account: the kernel is asked; root may do anything. */
static void
test_own_account(void)
{
	struct daemon_ident self = {geteuid(), getegid(), false};
	struct daemon_ident root = {0, 0, true};
	struct auth_error err;
	char p[256];

	path_of(p, sizeof(p), "closed.conf");
	is_int(preflight_access(p, &root, PREFLIGHT_READ, &err), 0, "root reads any file");
	is_int(preflight_access(p, &self, PREFLIGHT_READ, &err), geteuid() == 0 ? 0 : -1,
	       "access(2) for the account we run as");
	path_of(p, sizeof(p), "new.db");
	is_int(preflight_access(p, &self, PREFLIGHT_CREATE, &err), 0,
	       "a file we could create in our directory");
	ok(access(p, F_OK) != 0, "is not created");
}

int
main(void)
{
	static const char *const made[] = {"plain", "open.conf", "closed.conf", "reports.db", NULL};
	char p[256];
	size_t i;

	if (mkdtemp(base) == NULL)
		return 1;
	test_dirname();
	test_parent_dir();
	if (geteuid() == 0)
		test_other_account();
	else
		ok(1, "# SKIP not root: files of another account cannot be made");
	test_own_account();
	for (i = 0; made[i] != NULL; i++) {
		path_of(p, sizeof(p), made[i]);
		unlink(p);
	}
	rmdir(base);
	return done_testing();
}
