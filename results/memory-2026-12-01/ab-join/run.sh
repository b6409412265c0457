#!/bin/sh
R=/work/main/results/memory-2026-12-01/ab-join
cd /tmp/cmprun
for round in 1 2 3 4 5 6 7 8; do
  for v in b mem; do
    echo "$v $round start $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $R/log.txt
    ./compare-$v --members 10000 --threads 1 --runs 1 --reps 10 --rep-budget-secs 8 --impl throng --ops join --committer last --json-out $R/$v-$round.jsonl > $R/$v-$round.md 2>>$R/log.txt
  done
done
echo "done $(date +%T)" >> $R/log.txt
