TMOUT=450
readonly TMOUT
export TMOUT
