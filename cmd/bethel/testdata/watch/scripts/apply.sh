#!/bin/sh
# Applies every patch line "old=new" to inputs/names.txt, patch files in
# name order. A line without "=" is an error that names file:line.
set -eu
work=$(mktemp)
next=$(mktemp)
cp inputs/names.txt "$work"
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
			rm -f "$work" "$next"
			exit 1
			;;
		esac
		old=${line%%=*}
		new=${line#*=}
		sed "s/^$old\$/$new/" "$work" > "$next"
		cat "$next" > "$work"
	done < "$f"
done
cat "$work" > out/names.txt
rm -f "$work" "$next"
