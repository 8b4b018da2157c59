# 坂戸市 baseline: idle interactive shells end after 15 minutes
TMOUT=900
readonly TMOUT
export TMOUT
