# Throughput against shard count: one panel per load configuration, one line per target.
# Data and vars.gp come from `flyshard-load --report DIR` (scripts/bench.sh runs both):
#   gnuplot -e "datadir='results/<ts>/plots'; outfile='results/<ts>/throughput.png'" \
#     bench/plot/throughput.gp
load datadir.'/vars.gp'

cols = (nconfigs > 1) ? 2 : 1
rows = int((nconfigs + cols - 1) / cols)
set terminal pngcairo size 680*cols, 360*rows + 50 font "sans,10" noenhanced
set output outfile
set datafile missing '?'
set grid
set key outside right top vertical Left reverse
set xlabel "shards"
set ylabel "thousand ops/s"
set xrange [0:max_shards + 1]
set yrange [0:*]
set multiplot layout rows, cols title "Throughput vs shards per target (median of rounds, higher is better)" font ",12"
do for [i=1:nconfigs] {
  f = sprintf('%s/throughput-%d.dat', datadir, i)
  set title value(sprintf('title%d', i))
  plot for [c=2:ntargets + 1] f using 1:c:xtic(1) with linespoints lw 2 pt 7 ps 1.2 lt (c - 1) title columnheader(c)
}
unset multiplot
