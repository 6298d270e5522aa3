# tap.sh - TAP output for the shell tests (sourced):
#
#   check STATUS DESCRIPTION   "ok N - ..." when STATUS is 0, else "not ok N - ..."
#   is GOT WANT DESCRIPTION    "ok N" when GOT is WANT; else "not ok N" and both
#   tap_plan                   prints "1..N"; returns 1 after a failure

n=0 failed=0

check() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=1
	fi
}

# Lines after the first of a value are indented, so that each stays a
# TAP comment.
is() {
	if [ "$1" = "$2" ]; then
		check 0 "$3"
	else
		check 1 "$3"
		echo "#   got:  '$1'" | sed '2,$s/^/#         /'
		echo "#   want: '$2'" | sed '2,$s/^/#         /'
	fi
}

tap_plan() {
	echo "1..$n"
	return $failed
}
