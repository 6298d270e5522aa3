#!/bin/sh
# store-postgresql - the report store suite (tests/unit/test-store) against
# a real PostgreSQL server: a private cluster on loopback, made with
# initdb in a temporary directory and stopped at the end.
. "$top_srcdir/tests/lib/postgresql.sh"
test_store=$top_builddir/tests/unit/test-store
grep -q '^#define HAVE_POSTGRESQL 1' "$top_builddir/autoconf.h" ||
	{ echo "1..0 # SKIP built without libpq"; exit 0; }
pg_available || { echo "1..0 # SKIP PostgreSQL server not installed"; exit 0; }
trap pg_stop EXIT
pg_start || { echo "Bail out! PostgreSQL did not start"; exit 1; }
STORE_TEST_SPEC=$PG_URI "$test_store"
