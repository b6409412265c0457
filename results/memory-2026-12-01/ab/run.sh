#!/bin/sh
R=/work/main/results/memory-2026-12-01/ab
OPS=build,join,commit,process,add_one,process_add,remove_one,process_remove,commit_cold,process_cold,server_process,server_process_cold,state_bytes,tree_bytes
cd /tmp/cmprun
for round in 1 2 3; do
  for v in idx mem; do
    echo "$v $round start $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $R/log.txt
    ./compare-$v --members 10000 --threads 1 --runs 2 --reps 5 --impl throng --ops $OPS --committer last --json-out $R/$v-$round.jsonl > $R/$v-$round.md 2>>$R/log.txt
  done
done
echo "done $(date +%T)" >> $R/log.txt
