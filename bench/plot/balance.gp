# Balance against shard count per algorithm: the fullest (solid) and emptiest (dashed) shard
# over the mean. Data from `flyshard-distribution --json DIR/distribution.json` then
# `flyshard-load --report DIR`:
#   gnuplot -e "datadir='results/<ts>/plots'; outfile='results/<ts>/balance.png'" \
#     bench/plot/balance.gp
load datadir.'/vars.gp'

n = words(balance_algos)
set terminal pngcairo size 1000, 480 font "sans,10" noenhanced
set output outfile
set grid
set key outside right top
set logscale x 2
set xlabel "shards"
set ylabel "shard load / mean"
set title "Fullest (solid) and emptiest (dashed) shard over the mean, per algorithm (ideal 1)" font ",12"
f = datadir.'/balance.dat'
plot for [i=1:n] f index (i - 1) using 1:2 with linespoints lw 2 pt 7 lt i title word(balance_algos, i), \
     for [i=1:n] f index (i - 1) using 1:3 with linespoints lw 2 pt 6 dt 2 lt i notitle
