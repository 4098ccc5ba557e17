# Keys per shard per placement algorithm, as deviation from the mean (0 = perfect balance).
# Data from `flyshard-load --placement N --json DIR/placement.json` then `--report DIR`:
#   gnuplot -e "datadir='results/<ts>/plots'; outfile='results/<ts>/placement.png'" \
#     bench/plot/placement.gp
load datadir.'/vars.gp'

n = words(placement_algos)
set terminal pngcairo size 1000, 480 font "sans,10" noenhanced
set output outfile
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set grid ytics
set key outside right top
set ylabel "keys on the shard vs the mean, %"
set title sprintf("Load per shard per algorithm: the load's keys over %d shards", placement_shards) font ",12"
set xzeroaxis lt -1
plot for [c=2:n + 1] datadir.'/placement.dat' using (100 * (column(c) - 1)):xtic(1) title columnheader(c)
