# tap.sh - TAP output for the shell tests (sourced):
#
#   . "$top_srcdir/tests/lib/tap.sh"
#   check $? "what was checked"      # ok N / not ok N, from an exit status
#   is "$got" "$want" "what"         # the same, from two strings, showing both
#   echo "1..$n"; exit $failed       # at the end
#
# n counts the checks, failed is 1 once any failed.

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
is() {
	if [ "$1" = "$2" ]; then
		check 0 "$3"
	else
		check 1 "$3"
		echo "#   got:  '$1'"
		echo "#   want: '$2'"
	fi
}
