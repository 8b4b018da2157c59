# idle shell logout (city policy)
TMOUT=900
readonly TMOUT
export TMOUT
