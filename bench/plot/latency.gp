# Latency percentiles (p50, p99, p99.9) per target at the largest shard count: one panel per
# load configuration, log scale. Data from `flyshard-load --report DIR`:
#   gnuplot -e "datadir='results/<ts>/plots'; outfile='results/<ts>/latency.png'" \
#     bench/plot/latency.gp
load datadir.'/vars.gp'

cols = (nconfigs > 1) ? 2 : 1
rows = int((nconfigs + cols - 1) / cols)
set terminal pngcairo size 680*cols, 360*rows + 50 font "sans,10" noenhanced
set output outfile
set datafile missing '?'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key outside right top vertical Left reverse
set logscale y
set yrange [1:*]
set ylabel "latency, us (log scale)"
set multiplot layout rows, cols title sprintf("Latency per request, %d shards (median of rounds, lower is better)", max_shards) font ",12"
do for [i=1:nconfigs] {
  f = sprintf('%s/latency-%d.dat', datadir, i)
  set title value(sprintf('title%d', i))
  plot f using 2:xtic(1) title columnheader(2), '' using 3 title columnheader(3), '' using 4 title columnheader(4)
}
unset multiplot
