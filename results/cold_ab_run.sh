#!/bin/sh
# A/B of cold processing at 10,000 members (issue 16), for results/cold-*:
#   cold_ab_run.sh DIR "A B" [SUFFIX]
# runs /tmp/cmprun/compare-A and compare-B (each `compare` built at the
# commit the README names) in turn, 2 threads then 1: throng and the crypto
# floor, every committer position, 2 worker processes x up to 5 samples,
# into DIR/<version>-t<threads><SUFFIX>.{jsonl,md}; the log in DIR/log.txt.
# A second round is the same with the versions reversed and SUFFIX -r2.
R=$(cd "$1" && pwd)
OPS=process_cold,process_add_cold,process_remove_cold,server_process_cold,process,server_process
cd /tmp/cmprun
for t in 2 1; do
  for v in $2; do
    echo "$v t$t start $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$R/log.txt"
    ./compare-$v --members 10000 --threads $t --runs 2 --reps 5 --impl throng,crypto-floor --ops $OPS --committer all --json-out "$R/$v-t$t$3.jsonl" > "$R/$v-t$t$3.md" 2>>"$R/log.txt"
  done
done
echo "done $(date +%T)" >> "$R/log.txt"
