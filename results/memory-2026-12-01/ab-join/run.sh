#!/bin/sh
# Alternating A/B of one operation at 10,000 members, 1 thread, throng only.
# ab-join: run.sh join 10 ab-join; ab-build8: run.sh build 4 ab-build8.
OP=${1:-join}; REPS=${2:-10}; OUT=${3:-ab-join}
R=/work/main/results/memory-2026-12-01/$OUT
cd /tmp/cmprun
for round in 1 2 3 4 5 6 7 8; do
  for v in b mem; do
    echo "$v $round start $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $R/log.txt
    ./compare-$v --members 10000 --threads 1 --runs 1 --reps $REPS --rep-budget-secs 8 --impl throng --ops $OP --committer last --json-out $R/$v-$round.jsonl > $R/$v-$round.md 2>>$R/log.txt
  done
done
echo "done $(date +%T)" >> $R/log.txt
