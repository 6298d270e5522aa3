/*
 * test-maildir - delivery into tmp/ then new/, one folder or several at
 * once, per-recipient templates and the addresses they refuse.
 */
#include "autoconf.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maildir.h"
#include "tap.h"

static char root[] = "/tmp/test-maildir-XXXXXX";

static int
count(const char *dir, const char *sub)
{
	char path[2048];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void
test_expand(void)
{
	char out[MAILDIR_PATH_MAX];
	struct auth_error err;

	ok(maildir_per_recipient("/m/%d/%l") && !maildir_per_recipient("/m/all"),
	   "%%d and %%l make a per-recipient template");
	is_int(maildir_expand("/m/%d/%l/", "John.Doe+x@Example.ORG", out, &err), 0, "expanded");
	is_str(out, "/m/example.org/john.doe+x/", "lower-cased domain and local part");
	is_int(maildir_expand("/m/100%%/%l", "a@b.example", out, &err), 0, "%%%% expanded");
	is_str(out, "/m/100%/a", "to one percent sign");
	is_int(maildir_expand("/m/%l", "../etc@b.example", out, &err), -1, "a leading dot refused");
	is_int(maildir_expand("/m/%l", "a/b@b.example", out, &err), -1, "a slash refused");
	is_int(maildir_expand("/m/%l", "\"a b\"@b.example", out, &err), -1, "a quoted local part");
	is_int(maildir_expand("/m/%d", "Postmaster", out, &err), -1, "no domain for %%d");
	is_str(err.msg, "the address cannot name a folder", "says why");
}

static void
test_deliver(void)
{
	char one[200], two[200], file[800];
	const char *dirs[2] = {one, two};
	struct smtpc_piece pieces[2] = {{"Subject: x\r\n\r\n", 14}, {"body\r\n", 6}};
	struct auth_error err;
	struct dirent *e;
	DIR *d;
	FILE *f;
	char buf[64] = "";

	snprintf(one, sizeof(one), "%s/a/b/one", root);
	snprintf(two, sizeof(two), "%s/two", root);
	is_int(maildir_deliver(dirs, 2, pieces, 2, &err), 0, "delivered to two folders");
	ok(count(one, "new") == 1 && count(two, "new") == 1, "one file in each new/");
	ok(count(one, "tmp") == 0 && count(one, "cur") == 0, "tmp/ empty, cur/ made");
	d = opendir(two);
	closedir(d);
	snprintf(file, sizeof(file), "%s/new", two);
	d = opendir(file);
	while (d != NULL && (e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			snprintf(file, sizeof(file), "%s/new/%s", two, e->d_name);
	if (d != NULL)
		closedir(d);
	f = fopen(file, "rb");
	if (f != NULL) {
		buf[fread(buf, 1, sizeof(buf) - 1, f)] = '\0';
		fclose(f);
	}
	is_str(buf, "Subject: x\r\n\r\nbody\r\n", "the pieces, in order");
	is_int(maildir_deliver(dirs, 1, pieces, 2, &err), 0, "a second message");
	is_int(count(one, "new"), 2, "gets a name of its own");

	snprintf(two, sizeof(two), "/proc/no-such/dir");
	is_int(maildir_deliver(dirs, 2, pieces, 2, &err), -1, "one folder cannot be made");
	ok(count(one, "new") == 2 && count(one, "tmp") == 0,
	   "nothing delivered anywhere, nothing left in tmp/");
}

int
main(void)
{
	char cmd[100];

	if (mkdtemp(root) == NULL)
		return 1;
	test_expand();
	test_deliver();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		diag("could not remove %s", root);
	return done_testing();
}
