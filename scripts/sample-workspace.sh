# Sourced by the bench scripts (not run by `make bench`: its name does not
# start with bench-). Needs $repo (the repository root) and $tmp holding a
# built bethel-sample.

# workspace N DIR: the sample pipeline over N generated registrations. Seed
# 1 keeps the sample's bethels, so the sample's program, schedule, lock and
# program patches apply unchanged. PIPELINE=FILE uses another pipeline file
# (for example the sample's without its review site nodes, to measure the
# stages alone).
workspace() {
	local n=$1 dir=$2
	mkdir -p "$dir/inputs" "$dir/config" "$dir/patches/program"
	cp "${PIPELINE:-$repo/pipeline.toml}" "$dir/pipeline.toml"
	cp "$repo/inputs/program.csv" "$dir/inputs/"
	# The field declarations are the sample's; the generator writes the
	# config it varies after, and may overwrite them.
	cp "$repo/config/schedule.toml" "$repo/config/program.lock.json" "$repo/config/fields.toml" "$dir/config/"
	cp "$repo"/patches/program/*.toml "$dir/patches/program/"
	"$tmp/bethel-sample" -rows "$n" -seed 1 -out "$dir" >/dev/null
}

# median: the line whose first number is the median of the lines on
# standard input (the rest of the line comes with it: cpu and rss of that run).
median() { sort -n | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }'; }
