#!/bin/sh
R=/work/main/results/memory-2026-12-01
cd /tmp/cmprun
for n in 10000 100000; do
 for v in before:state_breakdown-before index:state_breakdown after:state_breakdown-mem; do
  name=${v%%:*}; bin=${v#*:}
  echo "$name $n start $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $R/breakdown.log
  ./$bin $n > $R/breakdown-$name-$n.md 2>>$R/breakdown.log
 done
done
echo "done $(date +%T)" >> $R/breakdown.log
