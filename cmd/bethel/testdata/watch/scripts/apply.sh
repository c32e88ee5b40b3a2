#!/bin/sh
# Applies every patch line "old=new" to inputs/names.txt, patch files in
# name order. A line without "=" is an error that names file:line.
set -eu
cp inputs/names.txt out/names.txt.work
for f in patches/*.txt; do
	[ -e "$f" ] || continue
	n=0
	while IFS= read -r line || [ -n "$line" ]; do
		n=$((n + 1))
		case "$line" in
		'' | '#'*) continue ;;
		*=*) ;;
		*)
			echo "$f:$n: patch line has no '=': $line" >&2
			rm -f out/names.txt.work
			exit 1
			;;
		esac
		old=${line%%=*}
		new=${line#*=}
		sed "s/^$old\$/$new/" out/names.txt.work > out/names.txt.next
		mv out/names.txt.next out/names.txt.work
	done < "$f"
done
mv out/names.txt.work out/names.txt
